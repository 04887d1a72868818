"""SLA policies and clocks: targets counted in working time, paused while the customer owes us.

A case has one clock per metric (first reply, resolution, and one per next-reply cycle). A
clock remembers the spans during which it ran, not just a total, so its due time can be
worked out again under another policy or another calendar: moving a case between policies,
or fixing a calendar, gives the answer the new policy would have given from the start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from caredesk.domain.calendars import US_PER_MINUTE, Clockwork, from_us, to_us
from caredesk.domain.cases import Case, CaseStatus, Channel, MessageKind, Priority
from caredesk.domain.errors import DomainError, ErrorCode

# While the case waits on the customer no clock runs; solved and closed stop them.
PAUSING = frozenset({CaseStatus.PENDING})
STOPPING = frozenset({CaseStatus.SOLVED, CaseStatus.CLOSED})
MAX_TARGET_MINUTES = 365 * 24 * 60


class InvalidSlaPolicy(DomainError):
    code = ErrorCode.INVALID_SLA_POLICY


class SlaMetric(StrEnum):
    FIRST_REPLY = "first_reply"
    NEXT_REPLY = "next_reply"
    RESOLUTION = "resolution"


class ClockStatus(StrEnum):
    RUNNING = "running"
    WARNING = "warning"  # past the warning share, not yet due
    PAUSED = "paused"
    BREACHED = "breached"
    MET = "met"
    UNTIMED = "untimed"  # no target under the case's policy


@dataclass(frozen=True, slots=True)
class SlaMatch:
    """Which cases a policy applies to; an empty list accepts anything."""

    tiers: tuple[str, ...] = ()
    priorities: tuple[Priority, ...] = ()
    channels: tuple[Channel, ...] = ()
    tags: tuple[str, ...] = ()  # any one of them

    def accepts(self, case: Case, tier: str | None) -> bool:
        return (
            (not self.tiers or (tier or "") in self.tiers)
            and (not self.priorities or case.priority in self.priorities)
            and (not self.channels or case.channel in self.channels)
            and (not self.tags or any(t in case.tags for t in self.tags))
        )


@dataclass(slots=True)
class SlaPolicy:
    id: int | None
    name: str
    targets: dict[SlaMetric, int]  # minutes of working time
    calendar_id: int | None = None  # None counts calendar time
    warn_percent: int = 75
    match: SlaMatch = SlaMatch()
    position: int = 100  # the first matching active policy (lowest position) applies
    active: bool = True
    version: int = 1

    def __post_init__(self) -> None:
        self.name = " ".join(self.name.split())
        if not self.name or len(self.name) > 100:
            raise InvalidSlaPolicy(
                "an SLA policy needs a name of at most 100 characters", details={"field": "name"}
            )
        if not self.targets:
            raise InvalidSlaPolicy(
                "an SLA policy needs at least one target", details={"field": "targets"}
            )
        for metric, minutes in self.targets.items():
            if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes <= 0:
                raise InvalidSlaPolicy(
                    f"the {metric.value} target must be a positive number of minutes",
                    details={"field": f"targets.{metric.value}", "value": minutes},
                )
            if minutes > MAX_TARGET_MINUTES:
                raise InvalidSlaPolicy(
                    f"the {metric.value} target is longer than a year",
                    details={"field": f"targets.{metric.value}", "value": minutes},
                )
        if not 1 <= self.warn_percent <= 99:
            raise InvalidSlaPolicy(
                "warnings fire at 1 to 99 per cent of a target",
                details={"field": "warn_percent", "value": self.warn_percent},
            )

    def target(self, metric: SlaMetric) -> int | None:
        return self.targets.get(metric)


def choose_policy(policies: Sequence[SlaPolicy], case: Case, tier: str | None) -> SlaPolicy | None:
    for policy in sorted(policies, key=lambda p: (p.position, p.id or 0)):
        if policy.active and policy.match.accepts(case, tier):
            return policy
    return None


@dataclass(slots=True)
class SlaClock:
    case_id: int
    metric: SlaMetric
    started_at: datetime
    cycle: int = 1
    segments: list[tuple[datetime, datetime]] = field(default_factory=list)
    running_since: datetime | None = None
    completed_at: datetime | None = None
    policy_id: int | None = None
    target_minutes: int | None = None
    warn_percent: int = 75
    # Worked out from the spans under the policy's calendar (see `recompute`).
    elapsed_us: int = 0
    warn_at: datetime | None = None
    due_at: datetime | None = None
    # What the desk recorded when the moment came.
    warned_at: datetime | None = None
    breached_at: datetime | None = None
    id: int | None = None

    @property
    def open(self) -> bool:
        return self.completed_at is None

    def pause(self, now: datetime) -> None:
        if self.running_since is not None:
            if now > self.running_since:
                self.segments.append((self.running_since, now))
            self.running_since = None

    def resume(self, now: datetime) -> None:
        if self.running_since is None and self.completed_at is None:
            self.running_since = now

    def complete(self, now: datetime) -> None:
        if self.completed_at is None:
            self.pause(now)
            self.completed_at = now

    def reopen(self, now: datetime, *, running: bool) -> None:
        self.completed_at = None
        if running:
            self.resume(now)

    # -- arithmetic -------------------------------------------------------------------------

    def _instant_at(self, calendar: Clockwork, amount: int) -> datetime | None:
        """When the clock had run (or will have run) `amount` of working time, if ever."""
        spent = 0
        for start, end in self.segments:
            s, e = to_us(start), to_us(end)
            worked = calendar.working_us(s, e)
            if spent + worked >= amount:
                return from_us(calendar.add_working_us(s, amount - spent))
            spent += worked
        if self.running_since is not None:
            return from_us(calendar.add_working_us(to_us(self.running_since), amount - spent))
        return None

    def recompute(
        self, calendar: Clockwork, policy_id: int | None, target: int | None, warn_percent: int
    ) -> None:
        """Work the due and warning times out again (a new policy, calendar or span)."""
        moved = (policy_id, target) != (self.policy_id, self.target_minutes)
        self.policy_id, self.target_minutes, self.warn_percent = policy_id, target, warn_percent
        self.elapsed_us = sum(calendar.working_us(to_us(s), to_us(e)) for s, e in self.segments)
        if target is None:
            self.due_at = self.warn_at = None
        else:
            target_us = target * US_PER_MINUTE
            self.due_at = self._instant_at(calendar, target_us)
            self.warn_at = self._instant_at(calendar, target_us * warn_percent // 100)
        if moved:
            # Under another target the moments come again; what was recorded stays in the log.
            if self.breached_at is not None and (
                self.due_at is None or self.due_at != self.breached_at
            ):
                self.breached_at = None
            if self.warned_at is not None and (
                self.warn_at is None or self.warn_at != self.warned_at
            ):
                self.warned_at = None

    def elapsed_at(self, calendar: Clockwork, now: datetime) -> int:
        running = 0
        if self.running_since is not None and now > self.running_since:
            running = calendar.working_us(to_us(self.running_since), to_us(now))
        return self.elapsed_us + running

    def status_at(self, now: datetime) -> ClockStatus:
        if self.target_minutes is None:
            return ClockStatus.UNTIMED
        limit = self.completed_at or now
        if self.due_at is not None and self.due_at <= limit:
            return ClockStatus.BREACHED
        if self.completed_at is not None:
            return ClockStatus.MET
        if self.running_since is None:
            return ClockStatus.PAUSED
        if self.warn_at is not None and self.warn_at <= now:
            return ClockStatus.WARNING
        return ClockStatus.RUNNING

    def due_moments(self, now: datetime) -> tuple[bool, bool]:
        """(warning due, breach due): moments that have come and are not recorded yet."""
        limit = now if self.completed_at is None else min(now, self.completed_at)
        warn = (
            self.warned_at is None
            and self.warn_at is not None
            and self.warn_at <= limit
            and self.completed_at is None
        )
        breach = self.breached_at is None and self.due_at is not None and self.due_at <= limit
        return warn, breach


@dataclass(frozen=True, slots=True)
class ClockReading:
    """A clock as the case page shows it at one moment."""

    metric: SlaMetric
    cycle: int
    status: ClockStatus
    target_minutes: int | None
    elapsed_minutes: int
    remaining_minutes: int | None
    percent: int | None
    due_at: datetime | None
    warn_at: datetime | None
    breached_at: datetime | None
    completed_at: datetime | None


def read_clock(clock: SlaClock, calendar: Clockwork, now: datetime) -> ClockReading:
    elapsed = clock.elapsed_at(calendar, now)
    remaining = percent = None
    if clock.target_minutes is not None:
        target_us = clock.target_minutes * US_PER_MINUTE
        remaining = (target_us - elapsed) // US_PER_MINUTE
        percent = min(999, elapsed * 100 // target_us)
    return ClockReading(
        metric=clock.metric,
        cycle=clock.cycle,
        status=clock.status_at(now),
        target_minutes=clock.target_minutes,
        elapsed_minutes=elapsed // US_PER_MINUTE,
        remaining_minutes=remaining,
        percent=percent,
        due_at=clock.due_at,
        warn_at=clock.warn_at,
        breached_at=clock.breached_at
        or (clock.due_at if clock.status_at(now) is ClockStatus.BREACHED else None),
        completed_at=clock.completed_at,
    )


# -- how case events move the clocks -------------------------------------------------------


def _runs_in(status: CaseStatus) -> bool:
    return status not in PAUSING and status not in STOPPING


def start_clocks(case: Case, now: datetime) -> list[SlaClock]:
    """The clocks of a newly opened case."""
    assert case.id is not None
    running = _runs_in(case.status)
    clocks = [
        SlaClock(case.id, SlaMetric.FIRST_REPLY, started_at=now),
        SlaClock(case.id, SlaMetric.RESOLUTION, started_at=now),
    ]
    for clock in clocks:
        if running:
            clock.resume(now)
        elif case.status in STOPPING:
            clock.complete(now)
    return clocks


def on_status(
    clocks: Sequence[SlaClock], before: CaseStatus, after: CaseStatus, now: datetime
) -> None:
    if before is after:
        return
    for clock in clocks:
        if after in STOPPING:
            clock.complete(now)
        elif before in STOPPING:
            # Reopened: the resolution clock carries on where it stopped.
            if clock.metric is SlaMetric.RESOLUTION:
                clock.reopen(now, running=_runs_in(after))
        elif after in PAUSING:
            clock.pause(now)
        else:
            clock.resume(now)


def on_message(
    clocks: Sequence[SlaClock], case: Case, kind: MessageKind, now: datetime
) -> SlaClock | None:
    """A reply stops the reply clocks; a customer's message after a reply starts a new cycle.

    Returns the next-reply clock to add, if one starts.
    """
    assert case.id is not None
    if kind is MessageKind.OUTBOUND:
        for clock in clocks:
            if clock.metric in (SlaMetric.FIRST_REPLY, SlaMetric.NEXT_REPLY):
                clock.complete(now)
        return None
    if kind is not MessageKind.INBOUND or case.status in STOPPING:
        return None
    waiting = [c for c in clocks if c.metric is not SlaMetric.RESOLUTION and c.open]
    if waiting:
        return None  # the customer is already waiting for a reply
    cycles = [c.cycle for c in clocks if c.metric is SlaMetric.NEXT_REPLY]
    clock = SlaClock(
        case.id, SlaMetric.NEXT_REPLY, started_at=now, cycle=max(cycles, default=0) + 1
    )
    if _runs_in(case.status):
        clock.resume(now)
    return clock
