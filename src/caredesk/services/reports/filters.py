"""The filters every report takes: a period of days the cases were opened in, and who, where
and what they were about, parsed from a query string and refused with what is allowed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from caredesk.domain.cases import Channel, Priority
from caredesk.domain.errors import ValidationFailed
from caredesk.services.cases.ports import CaseFilter

E = TypeVar("E", Channel, Priority)

LONGEST_PERIOD_DAYS = 366
DEFAULT_PERIOD_DAYS = 30
FILTER_NAMES = ("start", "end", "team", "agent", "channel", "priority", "tag", "remedy")
# The ones a queue reads beyond its own team and tag.
NARROWING_KEYS = ("start", "end", "agent", "channel", "priority", "remedy")
# A team or agent filter's value for the cases without one.
NONE = "none"
# Remedy ids and tags are the policy's and the desk's own short keys.
_KEY = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")


@dataclass(frozen=True, slots=True)
class ReportFilter:
    """The cases a report is about: opened from `start` to `end` (both days included, UTC),
    and, when set, of that team (or of none: `no_team`), assigned to that agent (or to
    none: `unassigned`), on that channel, of that priority, carrying that tag, granted that
    remedy."""

    start: date
    end: date
    team_id: int | None = None
    agent_id: int | None = None
    channel: Channel | None = None
    priority: Priority | None = None
    tag: str | None = None
    remedy: str | None = None
    no_team: bool = False
    unassigned: bool = False

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def case_filter(self) -> CaseFilter:
        """The same cases as the queues select them: the report and its drill-down agree."""
        start = datetime.combine(self.start, time.min, tzinfo=UTC)
        return CaseFilter(
            assignee_id=self.agent_id,
            unassigned=self.unassigned,
            team_id=self.team_id,
            no_team=self.no_team,
            tag=self.tag,
            priority=(self.priority,) if self.priority else (),
            channel=(self.channel,) if self.channel else (),
            remedy=self.remedy,
            created_from=start,
            created_before=start + timedelta(days=self.days),
        )

    def for_agent(self, agent_id: int) -> ReportFilter:
        return replace(self, agent_id=agent_id, unassigned=False)

    def query(self) -> list[tuple[str, str]]:
        """The filters as query parameters, in the order FILTER_NAMES lists them."""
        values = (
            self.start.isoformat(),
            self.end.isoformat(),
            NONE if self.no_team else self.team_id,
            NONE if self.unassigned else self.agent_id,
            self.channel and self.channel.value,
            self.priority and self.priority.value,
            self.tag,
            self.remedy,
        )
        return [(k, str(v)) for k, v in zip(FILTER_NAMES, values, strict=True) if v is not None]

    def query_string(self) -> str:
        return urlencode(self.query())


def _refuse(name: str, message: str, allowed: object) -> ValidationFailed:
    return ValidationFailed(message, details={"field": name, "allowed": allowed})


def _day(params: Mapping[str, str], name: str, default: date) -> date:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise _refuse(name, f"{name} must be a day", "a day as YYYY-MM-DD") from None


def id_or_none(raw: str | None, name: str) -> tuple[int | None, bool]:
    """A team or agent filter: its id, or (None, True) when it names the cases of none."""
    if raw == NONE:
        return None, True
    if raw is None or raw == "":
        return None, False
    if not raw.isdigit() or not 1 <= int(raw) <= 2**31 - 1:
        raise _refuse(
            name, f"{name} must be an id or {NONE}", f"a positive whole number, or {NONE}"
        )
    return int(raw), False


def _key(params: Mapping[str, str], name: str) -> str | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not _KEY.match(raw.lower()):
        raise _refuse(name, f"{name} is not a key", "lower-case letters, digits and _ . : -")
    return raw.lower()


def _choice(params: Mapping[str, str], name: str, kind: type[E]) -> E | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return kind(raw)
    except ValueError:
        raise _refuse(name, f"unknown {name} {raw!r}", [v.value for v in kind]) from None


def _optional_day(params: Mapping[str, str], name: str) -> date | None:
    return _day(params, name, date.min) if params.get(name) else None


def queue_narrowing(params: Mapping[str, str]) -> dict[str, Any]:
    """The report filters a queue reads beyond its own (a figure's `cases_url`), each only
    when given: the queue's fields of the same names (services/console/queues.py)."""
    assignee_id, unassigned = id_or_none(params.get("agent"), "agent")
    return {
        "assignee_id": assignee_id,
        "unassigned": unassigned,
        "channel": _choice(params, "channel", Channel),
        "priority": _choice(params, "priority", Priority),
        "remedy": _key(params, "remedy"),
        "opened_from": _optional_day(params, "start"),
        "opened_to": _optional_day(params, "end"),
    }


def parse_filters(params: Mapping[str, str], today: date) -> ReportFilter:
    """The filters of a query string; without a period, the last 30 days up to today."""
    unknown = sorted(set(params) - set(FILTER_NAMES))
    if unknown:
        raise _refuse(unknown[0], f"unknown filter {unknown[0]!r}", list(FILTER_NAMES))
    end = _day(params, "end", today)
    start = _day(params, "start", end - timedelta(days=DEFAULT_PERIOD_DAYS - 1))
    if start > end:
        raise _refuse("start", "the period starts after it ends", "start on or before end")
    if (end - start).days + 1 > LONGEST_PERIOD_DAYS:
        raise _refuse("end", "the period is too long", f"at most {LONGEST_PERIOD_DAYS} days")
    team_id, no_team = id_or_none(params.get("team"), "team")
    agent_id, unassigned = id_or_none(params.get("agent"), "agent")
    return ReportFilter(
        start=start,
        end=end,
        team_id=team_id,
        agent_id=agent_id,
        channel=_choice(params, "channel", Channel),
        priority=_choice(params, "priority", Priority),
        tag=_key(params, "tag"),
        remedy=_key(params, "remedy"),
        no_team=no_team,
        unassigned=unassigned,
    )
