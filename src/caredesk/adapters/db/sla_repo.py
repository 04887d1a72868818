"""Business calendars, SLA policies and SLA clocks as rows.

The policies and calendars every clock is worked out under are kept per process
(config_cache.py, kind `sla`): a change to either moves the kind's stamp."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, exists, insert, or_, select, update
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import case_facts, mapping
from caredesk.adapters.db import models as m
from caredesk.adapters.db.config_cache import Cached, ConfigKind, ConfigReads, copied
from caredesk.adapters.db.rows import add_row, column_values, from_row, onto_row
from caredesk.domain.calendars import BusinessCalendar, Clockwork
from caredesk.domain.cases import Case, Channel, Priority
from caredesk.domain.sla import SlaClock, SlaMatch, SlaMetric, SlaPolicy


def _calendar(row: m.BusinessCalendarRow) -> BusinessCalendar:
    return BusinessCalendar.build(
        row.name, row.timezone, row.hours, row.holidays, id=row.id, version=row.version
    )


def _match_json(match: SlaMatch) -> dict[str, list[str]]:
    return {
        "tiers": list(match.tiers),
        "priorities": [p.value for p in match.priorities],
        "channels": [c.value for c in match.channels],
        "tags": list(match.tags),
    }


def _match(stored: dict[str, list[str]] | None) -> SlaMatch:
    match = stored or {}
    return SlaMatch(
        tiers=tuple(match.get("tiers", ())),
        priorities=tuple(Priority(p) for p in match.get("priorities", ())),
        channels=tuple(Channel(c) for c in match.get("channels", ())),
        tags=tuple(match.get("tags", ())),
    )


def _policy(row: m.SlaPolicyRow) -> SlaPolicy:
    targets = {SlaMetric(k): int(v) for k, v in row.targets.items()}
    return from_row(SlaPolicy, row, targets=targets, match=_match(row.match))


def _policy_columns(policy: SlaPolicy, now: datetime) -> dict[str, Any]:
    """The columns of a policy row that are not its fields as they are."""
    targets = {k.value: v for k, v in policy.targets.items()}
    return {"targets": targets, "match": _match_json(policy.match), "updated_at": now}


def _copy(clock: SlaClock) -> SlaClock:
    """A clock its holder may change without changing what the repository keeps."""
    return replace(clock, segments=list(clock.segments))


def _clock(row: Any) -> SlaClock:
    segments = [(datetime.fromisoformat(s), datetime.fromisoformat(e)) for s, e in row.segments]
    return from_row(SlaClock, row, segments=segments)


def _values(clock: SlaClock) -> dict[str, Any]:
    segments = [[s.isoformat(), e.isoformat()] for s, e in clock.segments]
    return column_values(clock, skip=("id",), segments=segments)


def _all_policies(session: OrmSession) -> tuple[SlaPolicy, ...]:
    rows = session.scalars(
        select(m.SlaPolicyRow).order_by(m.SlaPolicyRow.position, m.SlaPolicyRow.id)
    )
    return tuple(_policy(r) for r in rows)


def _all_calendars(session: OrmSession) -> Mapping[int, BusinessCalendar]:
    rows = session.scalars(select(m.BusinessCalendarRow))
    return MappingProxyType({row.id: _calendar(row) for row in rows})


_POLICIES = Cached(ConfigKind.SLA, _all_policies)
# Shared as they are, never copied: a calendar keeps the working-time arithmetic it has done
# (its timeline), and every case counted in it reuses that.
_CALENDARS = Cached(ConfigKind.SLA, _all_calendars)

# Clocks are read and written with Core statements, not ORM objects: a scan touches
# hundreds of thousands of them, and nothing else in a unit of work holds them.
_CLOCKS = cast(Table, m.SlaClockRow.__table__)


class SqlSlaRepository:
    def __init__(self, session: OrmSession, config: ConfigReads) -> None:
        self.session = session
        self.config = config
        # The cases this unit found or saved clocks for: clocks are never deleted, so a case
        # opened in this transaction is known to have them when its next change asks.
        self._clocked: set[int] = set()
        # Each case's clocks as this unit of work last read or wrote them: a write moves a
        # case's clocks once per event (a new case: opened, then triaged) and answers with
        # them, and each read them again. Only `save_clocks` writes clocks.
        self._kept: dict[int, list[SlaClock]] = {}

    # -- calendars --------------------------------------------------------------------------

    def calendars(self) -> list[BusinessCalendar]:
        rows = self.session.scalars(
            select(m.BusinessCalendarRow).order_by(m.BusinessCalendarRow.id)
        )
        return [_calendar(r) for r in rows]

    def get_calendar(self, calendar_id: int) -> BusinessCalendar | None:
        row = self.session.get(m.BusinessCalendarRow, calendar_id)
        return _calendar(row) if row is not None else None

    def clockwork(self, calendar_id: int) -> Clockwork | None:
        return self.config.get(_CALENDARS).get(calendar_id)

    def policy_calendar(self, policy_id: int) -> tuple[int, Clockwork] | None:
        """The business calendar of a policy, by its id and its working time, if it has one:
        from the cache, as the clocks read them."""
        policy = next((p for p in self.config.get(_POLICIES) if p.id == policy_id), None)
        if policy is None or policy.calendar_id is None:
            return None
        clockwork = self.clockwork(policy.calendar_id)
        return (policy.calendar_id, clockwork) if clockwork is not None else None

    def get_calendar_by_name(self, name: str) -> BusinessCalendar | None:
        row = self.session.scalar(
            select(m.BusinessCalendarRow).where(m.BusinessCalendarRow.name == name)
        )
        return _calendar(row) if row is not None else None

    def add_calendar(self, calendar: BusinessCalendar, now: datetime) -> None:
        row = m.BusinessCalendarRow(version=calendar.version, updated_at=now)
        self._fill_calendar(row, calendar)
        self.session.add(row)
        self.session.flush()
        calendar.id = row.id
        self.config.changed(ConfigKind.SLA)

    def save_calendar(self, calendar: BusinessCalendar, now: datetime) -> None:
        row = self.session.get(m.BusinessCalendarRow, calendar.id)
        assert row is not None
        self._fill_calendar(row, calendar)
        row.version = calendar.version
        row.updated_at = now
        self.session.flush()
        self.config.changed(ConfigKind.SLA)

    @staticmethod
    def _fill_calendar(row: m.BusinessCalendarRow, calendar: BusinessCalendar) -> None:
        row.name = calendar.name
        row.timezone = calendar.timezone
        row.hours = calendar.hours
        row.holidays = sorted(d.isoformat() for d in calendar.holidays)

    # -- policies ---------------------------------------------------------------------------

    def policies(self) -> list[SlaPolicy]:
        return [copied(p) for p in self.config.get(_POLICIES)]

    def get_policy(self, policy_id: int) -> SlaPolicy | None:
        row = self.session.get(m.SlaPolicyRow, policy_id)
        return _policy(row) if row is not None else None

    def get_policy_by_name(self, name: str) -> SlaPolicy | None:
        row = self.session.scalar(select(m.SlaPolicyRow).where(m.SlaPolicyRow.name == name))
        return _policy(row) if row is not None else None

    def add_policy(self, policy: SlaPolicy, now: datetime) -> None:
        add_row(self.session, policy, m.SlaPolicyRow(), **_policy_columns(policy, now))
        self.config.changed(ConfigKind.SLA)

    def save_policy(self, policy: SlaPolicy, now: datetime) -> None:
        row = self.session.get(m.SlaPolicyRow, policy.id)
        assert row is not None
        onto_row(policy, row, skip=("id",), **_policy_columns(policy, now))
        self.session.flush()
        self.config.changed(ConfigKind.SLA)

    # -- clocks -----------------------------------------------------------------------------

    def clocks(self, case_id: int) -> list[SlaClock]:
        kept = self._kept.get(case_id)
        if kept is None:
            kept = self._kept[case_id] = self.clocks_for_cases([case_id]).get(case_id, [])
        return [_copy(c) for c in kept]

    def clocks_for_cases(self, case_ids: Sequence[int]) -> dict[int, list[SlaClock]]:
        found: dict[int, list[SlaClock]] = {}
        if not case_ids:
            return found
        rows = self.session.execute(
            select(_CLOCKS)
            .where(_CLOCKS.c.case_id.in_(list(case_ids)))
            .order_by(_CLOCKS.c.case_id, _CLOCKS.c.id)
        )
        for row in rows:
            found.setdefault(row.case_id, []).append(_clock(row))
        self._clocked.update(found)
        return found

    def has_clocks(self, case_id: int) -> bool:
        if case_id in self._clocked:
            return True
        if self.session.scalar(select(exists().where(_CLOCKS.c.case_id == case_id))):
            self._clocked.add(case_id)
            return True
        return False

    def save_clocks(self, clocks: Sequence[SlaClock]) -> None:
        self._clocked.update(c.case_id for c in clocks)
        # A clock's policy names the calendar the case's business hours are counted in.
        case_facts.touch(self.session, {c.case_id for c in clocks})
        changed = [{"clock_id": c.id, **_values(c)} for c in clocks if c.id is not None]
        if changed:
            self.session.execute(
                update(_CLOCKS)
                .where(_CLOCKS.c.id == bindparam("clock_id"))
                .values({k: bindparam(k) for k in changed[0] if k != "clock_id"}),
                changed,
            )
        for clock in clocks:
            if clock.id is None:
                clock.id = self.session.execute(
                    insert(_CLOCKS).values(_values(clock)).returning(_CLOCKS.c.id)
                ).scalar_one()
        # A caller may save some of a case's clocks (the scan saves the due ones): what is kept
        # of a case is brought up to date clock by clock.
        for clock in clocks:
            kept = self._kept.get(clock.case_id)
            if kept is not None:
                others = [c for c in kept if c.id != clock.id]
                kept[:] = sorted([*others, _copy(clock)], key=lambda c: c.id or 0)

    def due_clocks(self, now: datetime, limit: int) -> list[SlaClock]:
        c = _CLOCKS.c
        rows = self.session.execute(
            select(_CLOCKS)
            .where(
                c.completed_at.is_(None),
                or_(
                    and_(c.warned_at.is_(None), c.warn_at <= now),
                    and_(c.breached_at.is_(None), c.due_at <= now),
                ),
            )
            .order_by(c.id)
            .limit(limit)
        )
        return [_clock(r) for r in rows]

    def open_case_ids(self, after_id: int, limit: int) -> list[int]:
        c = _CLOCKS.c
        return list(
            self.session.scalars(
                select(c.case_id)
                .where(c.completed_at.is_(None), c.case_id > after_id)
                .group_by(c.case_id)
                .order_by(c.case_id)
                .limit(limit)
            )
        )

    def iterate_open_clocks(self, batch: int) -> Iterator[list[SlaClock]]:
        c = _CLOCKS.c
        after = 0
        while True:
            rows = list(
                self.session.execute(
                    select(_CLOCKS)
                    .where(c.completed_at.is_(None), c.id > after)
                    .order_by(c.id)
                    .limit(batch)
                )
            )
            if not rows:
                return
            after = rows[-1].id
            yield [_clock(r) for r in rows]

    def cases_with_tiers(self, case_ids: Sequence[int]) -> list[tuple[Case, str | None]]:
        if not case_ids:
            return []
        rows = self.session.execute(
            select(m.CaseRow, m.CustomerRow.tier)
            .join(m.CustomerRow, m.CustomerRow.id == m.CaseRow.customer_id)
            .where(m.CaseRow.id.in_(list(case_ids)))
            .order_by(m.CaseRow.id)
        ).all()
        return [(mapping.case_from_row(row), tier) for row, tier in rows]
