"""SLA policies and calendars as data, and each case's clocks kept in step with the case.

The case service calls `sync_case` in the transaction of every change that can move a
clock (a new case, a status change, a message, a new priority, tier or routed policy), so
the stored due times are always those of the case as it now stands. Warnings and breaches
whose moment comes while nothing happens on the case are recorded by the `sla.scan` timer
in the worker. Editing a policy or a calendar queues an `sla.recompute` job that works the
open cases' clocks out again under the new definitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from caredesk.domain.agents import SYSTEM, Actor, Permission
from caredesk.domain.calendars import ALWAYS_OPEN, BusinessCalendar, Clockwork
from caredesk.domain.cases import (
    Case,
    CaseChanged,
    CaseOpened,
    CaseStatus,
    Channel,
    MessageAdded,
    MessageKind,
    Priority,
)
from caredesk.domain.errors import (
    DomainError,
    ErrorCode,
)
from caredesk.domain.events import Event
from caredesk.domain.sla import (
    ClockReading,
    InvalidSlaPolicy,
    SlaClock,
    SlaMatch,
    SlaMetric,
    SlaPolicy,
    choose_policy,
    on_message,
    on_status,
    read_clock,
    start_clocks,
)
from caredesk.services.core import jobs
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command
from caredesk.services.core.jobs import HandlerRegistry, JobContext
from caredesk.services.core.reads import read, read_one
from caredesk.services.core.updates import Audited, Changes, Update, stored, update_command
from caredesk.services.sla.unit import SlaUnit

SCAN_TIMER = "sla.scan"
RECOMPUTE_KIND = "sla.recompute"
SCAN_BATCH = 500
# Triage (routing rules) names the case's policy in this custom field.
POLICY_FIELD = "sla_policy"
DEFAULT_WARN_PERCENT = 75


@dataclass(frozen=True, slots=True)
class CaseSla:
    """A case's SLA as its page shows it: the policy in force and every clock's reading."""

    policy: SlaPolicy | None
    clocks: list[ClockReading]


class _Resolver:
    """The policies, taken once per unit of work (a scan touches thousands of cases)."""

    def __init__(self, uow: SlaUnit) -> None:
        self.uow = uow
        self._policies: list[SlaPolicy] | None = None
        self._tiers: dict[str, str | None] = {}

    @property
    def policies(self) -> list[SlaPolicy]:
        if self._policies is None:
            self._policies = self.uow.sla.policies()
        return self._policies

    def policy(self, policy_id: int | None) -> SlaPolicy | None:
        return next((p for p in self.policies if p.id == policy_id), None)

    def calendar(self, calendar_id: int | None) -> Clockwork:
        found = self.uow.sla.clockwork(calendar_id) if calendar_id is not None else None
        return found if found is not None else ALWAYS_OPEN

    def tier(self, customer_id: str) -> str | None:
        if customer_id not in self._tiers:
            customer = self.uow.customers.get(customer_id)
            self._tiers[customer_id] = customer.tier if customer is not None else None
        return self._tiers[customer_id]

    def choose(self, case: Case, tier: str | None = None) -> SlaPolicy | None:
        """A routing rule's named policy if it is active, else the first that matches."""
        named = case.custom_fields.get(POLICY_FIELD)
        if isinstance(named, str) and named:
            chosen = next((p for p in self.policies if p.name == named and p.active), None)
            if chosen is not None:
                return chosen
        if tier is None:
            tier = self.tier(case.customer_id)
        return choose_policy(self.policies, case, tier)

    def apply(self, clocks: Iterable[SlaClock], policy: SlaPolicy | None) -> None:
        calendar = self.calendar(policy.calendar_id if policy else None)
        for clock in clocks:
            clock.recompute(
                calendar,
                policy.id if policy else None,
                policy.target(clock.metric) if policy else None,
                policy.warn_percent if policy else DEFAULT_WARN_PERCENT,
            )


def _record_moment(
    uow: SlaUnit, clock: SlaClock, now: datetime, action: str, kind: str, at: datetime
) -> None:
    moment = {
        "metric": clock.metric.value,
        "cycle": clock.cycle,
        "policy_id": clock.policy_id,
        "target_minutes": clock.target_minutes,
        kind: at.isoformat(),
    }
    publish_change(
        uow, SYSTEM, now, action, "case", clock.case_id, case_id=clock.case_id, after=moment
    )


def _record_moments(uow: SlaUnit, clocks: Iterable[SlaClock], now: datetime) -> int:
    """Record warnings and breaches whose moment has come; each breach at its exact minute."""
    recorded = 0
    for clock in clocks:
        warn, breach = clock.due_moments(now)
        if breach and clock.due_at is not None:
            clock.breached_at = clock.due_at
            # A warning after the breach would only be noise: mark it as passed.
            if clock.warned_at is None:
                clock.warned_at = clock.warn_at
            _record_moment(uow, clock, now, "sla.breached", "breached_at", clock.due_at)
            recorded += 1
        elif warn and clock.warn_at is not None:
            clock.warned_at = clock.warn_at
            _record_moment(uow, clock, now, "sla.warning", "warn_at", clock.warn_at)
            recorded += 1
    return recorded


def sync_case(
    uow: SlaUnit,
    case: Case,
    now: datetime,
    *,
    before_status: CaseStatus,
    message_kind: MessageKind | None = None,
) -> list[SlaClock]:
    """Move the case's clocks for what just happened to it, in the caller's transaction.

    Starts the clocks of a new case (or of one older than SLAs), pauses and resumes them on
    status changes, completes reply clocks on a reply and starts a next-reply cycle when the
    customer writes again, then works every due time out under the policy now chosen.
    """
    assert case.id is not None
    clocks = uow.sla.clocks(case.id)
    if not clocks:
        clocks = start_clocks(case, now)
    else:
        on_status(clocks, before_status, case.status, now)
    if message_kind is not None:
        started = on_message(clocks, case, message_kind, now)
        if started is not None:
            clocks.append(started)
    resolver = _Resolver(uow)
    resolver.apply(clocks, resolver.choose(case))
    _record_moments(uow, clocks, now)
    uow.sla.save_clocks(clocks)
    return clocks


# -- event handlers: the clocks follow the case, whichever door the change came in by ------


def on_case_opened(uow: SlaUnit, event: Event) -> None:
    assert isinstance(event, CaseOpened)
    sync_case(uow, event.case, event.at, before_status=event.case.status)


def on_message_added(uow: SlaUnit, event: Event) -> None:
    assert isinstance(event, MessageAdded)
    sync_case(
        uow,
        event.case,
        event.at,
        before_status=event.status_before,
        message_kind=event.message.kind,
    )


# What a change must touch to move a case's clocks: its status (which pauses, resumes and
# stops them) or what chooses its policy. An assignee, a subject or a triage note does not.
CLOCK_INPUTS = ("status", "priority", "tags")


def moves_clocks(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether a change between these snapshots (Case.snapshot) can move the case's clocks."""
    if any(before.get(key) != after.get(key) for key in CLOCK_INPUTS):
        return True
    named = (before.get("custom_fields") or {}), (after.get("custom_fields") or {})
    return bool(named[0].get(POLICY_FIELD) != named[1].get(POLICY_FIELD))


def on_case_changed(uow: SlaUnit, event: Event) -> None:
    assert isinstance(event, CaseChanged)
    case = event.case
    assert case.id is not None
    # Every change passed through here, and each reloaded the policies and calendars and
    # rewrote the clocks: a new case twice in one transaction (opened, then triaged). A case
    # older than SLAs still gets its clocks on any change.
    if moves_clocks(event.before, event.after) or not uow.sla.has_clocks(case.id):
        sync_case(uow, case, event.at, before_status=event.status_before)


def case_sla(uow: SlaUnit, actor: Actor, case_id: int, now: datetime) -> CaseSla:
    return read(uow, actor, Permission.READ, lambda u: case_sla_in(u, case_id, now))


def case_sla_in(uow: SlaUnit, case_id: int, now: datetime) -> CaseSla:
    """The case's SLA read inside an open unit of work."""
    clocks = uow.sla.clocks(case_id)
    resolver = _Resolver(uow)
    policy_id = next((c.policy_id for c in clocks if c.policy_id is not None), None)
    policy = resolver.policy(policy_id)
    calendar = resolver.calendar(policy.calendar_id if policy else None)
    return CaseSla(policy, [read_clock(c, calendar, now) for c in clocks])


# -- the worker's part ----------------------------------------------------------------------


def scan(ctx: JobContext, batch: int = SCAN_BATCH) -> int:
    """Record the warnings and breaches that came due; returns how many were recorded."""
    total = 0
    while True:
        with ctx.uow() as uow:
            now = ctx.clock.now()
            clocks = uow.sla.due_clocks(now, batch)
            recorded = _record_moments(uow, clocks, now)
            uow.sla.save_clocks(clocks)
            uow.commit()
        total += recorded
        if len(clocks) < batch or recorded == 0:
            return total


def recompute_open_cases(ctx: JobContext, payload: Mapping[str, Any] | None = None) -> int:
    """Work every open case's clocks out again (policies or calendars changed)."""
    after, done = 0, 0
    while True:
        with ctx.uow() as uow:
            now = ctx.clock.now()
            case_ids = uow.sla.open_case_ids(after, SCAN_BATCH)
            if not case_ids:
                return done
            resolver = _Resolver(uow)
            by_case = uow.sla.clocks_for_cases(case_ids)
            changed: list[SlaClock] = []
            for case, tier in uow.sla.cases_with_tiers(case_ids):
                assert case.id is not None
                clocks = by_case.get(case.id, [])
                resolver.apply(clocks, resolver.choose(case, tier))
                _record_moments(uow, clocks, now)
                changed.extend(clocks)
            uow.sla.save_clocks(changed)
            uow.commit()
        done += len(case_ids)
        after = case_ids[-1]


def register_sla(registry: HandlerRegistry, every: timedelta = timedelta(minutes=1)) -> None:
    registry.register(RECOMPUTE_KIND, _recompute)
    registry.register_timer(SCAN_TIMER, every, _scan)


def _recompute(ctx: JobContext, payload: dict[str, Any]) -> None:
    recompute_open_cases(ctx, payload)


def _scan(ctx: JobContext) -> None:
    scan(ctx)


def _queue_recompute(uow: SlaUnit, now: datetime) -> None:
    # Keyed by the minute: edits made together share one pass over the open cases.
    jobs.enqueue(uow, RECOMPUTE_KIND, {}, now=now, key=f"{RECOMPUTE_KIND}:{now:%Y%m%dT%H%M}")


# -- calendars ------------------------------------------------------------------------------


def _calendar_snapshot(calendar: BusinessCalendar) -> dict[str, Any]:
    return {
        "name": calendar.name,
        "timezone": calendar.timezone,
        "hours": calendar.hours,
        "holidays": sorted(d.isoformat() for d in calendar.holidays),
        "version": calendar.version,
    }


def _name_taken(what: str, name: str) -> DomainError:
    return DomainError(
        f"{what} named {name!r} exists already", code=ErrorCode.CONFLICT, details={"field": "name"}
    )


def _check_calendar_name(uow: SlaUnit, calendar: BusinessCalendar) -> None:
    other = uow.sla.get_calendar_by_name(calendar.name)
    if other is not None and other.id != calendar.id:
        raise _name_taken("a calendar", calendar.name)


def list_calendars(uow: SlaUnit, actor: Actor) -> list[BusinessCalendar]:
    return read(uow, actor, Permission.READ, lambda u: u.sla.calendars())


def get_calendar(uow: SlaUnit, actor: Actor, calendar_id: int) -> BusinessCalendar:
    return read_one(
        uow,
        actor,
        Permission.READ,
        lambda u: u.sla.get_calendar(calendar_id),
        "calendar",
        calendar_id,
    )


@command
def create_calendar(
    uow: SlaUnit,
    actor: Actor,
    now: datetime,
    *,
    name: str,
    timezone: str,
    hours: Mapping[str, Sequence[str]],
    holidays: Iterable[date | str] = (),
) -> BusinessCalendar:
    actor.require(Permission.MANAGE_POLICY)
    calendar = BusinessCalendar.build(name, timezone, hours, holidays)
    with uow:
        _check_calendar_name(uow, calendar)
        uow.sla.add_calendar(calendar, now)
        publish_change(
            uow,
            actor,
            now,
            "calendar.created",
            "calendar",
            calendar.id,
            after=_calendar_snapshot(calendar),
        )
        uow.commit()
        return calendar


def _changed_calendar(
    uow: SlaUnit, actor: Actor, now: datetime, current: BusinessCalendar, changes: Changes
) -> BusinessCalendar:
    """Change a calendar; the open cases counted in it are worked out again by the worker."""
    updated = BusinessCalendar.build(
        changes.get("name", current.name),
        changes.get("timezone", current.timezone),
        changes.get("hours", current.hours),
        changes.get("holidays", current.holidays),
        id=current.id,
        version=current.version + 1,
    )
    _check_calendar_name(uow, updated)
    uow.sla.save_calendar(updated, now)
    _queue_recompute(uow, now)
    return updated


update_calendar: Update[SlaUnit, int, BusinessCalendar] = update_command(
    Permission.MANAGE_POLICY,
    stored("calendar", lambda u: u.sla.get_calendar),
    _changed_calendar,
    audited=Audited("calendar", _calendar_snapshot),
)


# -- policies -------------------------------------------------------------------------------


def parse_targets(targets: Mapping[str, Any]) -> dict[SlaMetric, int]:
    parsed: dict[SlaMetric, int] = {}
    for key, minutes in targets.items():
        try:
            metric = SlaMetric(key)
        except ValueError as exc:
            raise InvalidSlaPolicy(
                f"unknown SLA target {key!r}; use {', '.join(m.value for m in SlaMetric)}",
                details={"field": f"targets.{key}"},
            ) from exc
        parsed[metric] = minutes
    return parsed


def parse_match(match: Mapping[str, Any]) -> SlaMatch:
    unknown = sorted(set(match) - {"tiers", "priorities", "channels", "tags"})
    if unknown:
        raise InvalidSlaPolicy(
            f"unknown match field {unknown[0]!r}", details={"field": f"match.{unknown[0]}"}
        )
    try:
        return SlaMatch(
            tiers=tuple(str(t) for t in match.get("tiers", ())),
            priorities=tuple(Priority(p) for p in match.get("priorities", ())),
            channels=tuple(Channel(c) for c in match.get("channels", ())),
            tags=tuple(str(t).strip().lower() for t in match.get("tags", ())),
        )
    except ValueError as exc:
        raise InvalidSlaPolicy(f"bad match: {exc}", details={"field": "match"}) from exc


def policy_snapshot(policy: SlaPolicy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "targets": {k.value: v for k, v in policy.targets.items()},
        "calendar_id": policy.calendar_id,
        "warn_percent": policy.warn_percent,
        "match": {
            "tiers": list(policy.match.tiers),
            "priorities": [p.value for p in policy.match.priorities],
            "channels": [c.value for c in policy.match.channels],
            "tags": list(policy.match.tags),
        },
        "position": policy.position,
        "active": policy.active,
        "version": policy.version,
    }


def list_policies(uow: SlaUnit, actor: Actor) -> list[SlaPolicy]:
    return read(uow, actor, Permission.READ, lambda u: u.sla.policies())


def get_policy(uow: SlaUnit, actor: Actor, policy_id: int) -> SlaPolicy:
    return read_one(
        uow, actor, Permission.READ, lambda u: u.sla.get_policy(policy_id), "SLA policy", policy_id
    )


def _check_policy_refs(uow: SlaUnit, policy: SlaPolicy) -> None:
    if policy.calendar_id is not None and uow.sla.get_calendar(policy.calendar_id) is None:
        raise InvalidSlaPolicy(
            f"calendar {policy.calendar_id} does not exist",
            details={"field": "calendar_id", "value": policy.calendar_id},
        )
    other = uow.sla.get_policy_by_name(policy.name)
    if other is not None and other.id != policy.id:
        raise _name_taken("an SLA policy", policy.name)


@command
def create_policy(
    uow: SlaUnit,
    actor: Actor,
    now: datetime,
    *,
    name: str,
    targets: Mapping[str, Any],
    calendar_id: int | None = None,
    warn_percent: int = DEFAULT_WARN_PERCENT,
    match: Mapping[str, Any] | None = None,
    position: int = 100,
    active: bool = True,
) -> SlaPolicy:
    actor.require(Permission.MANAGE_POLICY)
    policy = SlaPolicy(
        id=None,
        name=name,
        targets=parse_targets(targets),
        calendar_id=calendar_id,
        warn_percent=warn_percent,
        match=parse_match(match or {}),
        position=position,
        active=active,
    )
    with uow:
        _check_policy_refs(uow, policy)
        uow.sla.add_policy(policy, now)
        publish_change(
            uow,
            actor,
            now,
            "sla_policy.created",
            "sla_policy",
            policy.id,
            after=policy_snapshot(policy),
        )
        _queue_recompute(uow, now)
        uow.commit()
        return policy


def _changed_policy(
    uow: SlaUnit, actor: Actor, now: datetime, current: SlaPolicy, changes: Changes
) -> SlaPolicy:
    updated = SlaPolicy(
        id=current.id,
        name=changes.get("name", current.name),
        targets=parse_targets(changes["targets"]) if "targets" in changes else current.targets,
        calendar_id=changes.get("calendar_id", current.calendar_id),
        warn_percent=changes.get("warn_percent", current.warn_percent),
        match=parse_match(changes["match"]) if "match" in changes else current.match,
        position=changes.get("position", current.position),
        active=changes.get("active", current.active),
        version=current.version + 1,
    )
    _check_policy_refs(uow, updated)
    uow.sla.save_policy(updated, now)
    _queue_recompute(uow, now)
    return updated


update_policy: Update[SlaUnit, int, SlaPolicy] = update_command(
    Permission.MANAGE_POLICY,
    stored("SLA policy", lambda u: u.sla.get_policy),
    _changed_policy,
    audited=Audited("sla_policy", policy_snapshot),
)
