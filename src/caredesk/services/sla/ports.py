"""What SLA policies and clocks need from the database."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol

from caredesk.domain.calendars import BusinessCalendar, Clockwork
from caredesk.domain.cases import Case
from caredesk.domain.sla import SlaClock, SlaPolicy


class SlaRepository(Protocol):
    def calendars(self) -> list[BusinessCalendar]: ...

    def get_calendar(self, calendar_id: int) -> BusinessCalendar | None: ...

    def clockwork(self, calendar_id: int) -> Clockwork | None:
        """The calendar's working-time arithmetic, for counting clocks in: read-only, and
        shared with the other units of work that count in it."""
        ...

    def get_calendar_by_name(self, name: str) -> BusinessCalendar | None: ...

    def add_calendar(self, calendar: BusinessCalendar, now: datetime) -> None: ...

    def save_calendar(self, calendar: BusinessCalendar, now: datetime) -> None: ...

    def policies(self) -> list[SlaPolicy]:
        """Every policy, active or not, in the order they are tried (position, then id)."""
        ...

    def get_policy(self, policy_id: int) -> SlaPolicy | None: ...

    def get_policy_by_name(self, name: str) -> SlaPolicy | None: ...

    def add_policy(self, policy: SlaPolicy, now: datetime) -> None: ...

    def save_policy(self, policy: SlaPolicy, now: datetime) -> None: ...

    def clocks(self, case_id: int) -> list[SlaClock]: ...

    def clocks_for_cases(self, case_ids: Sequence[int]) -> dict[int, list[SlaClock]]: ...

    def has_clocks(self, case_id: int) -> bool:
        """Whether the case has clocks (known without a read when this unit saved them)."""
        ...

    def save_clocks(self, clocks: Sequence[SlaClock]) -> None:
        """Insert the new clocks (no id yet) and update the others."""
        ...

    def due_clocks(self, now: datetime, limit: int) -> list[SlaClock]:
        """Open clocks whose warning or breach moment has come and is not recorded yet."""
        ...

    def open_case_ids(self, after_id: int, limit: int) -> list[int]:
        """Cases with an open clock, in id order, for scans that go through all of them."""
        ...

    def iterate_open_clocks(self, batch: int) -> Iterator[list[SlaClock]]: ...

    def cases_with_tiers(self, case_ids: Sequence[int]) -> list[tuple[Case, str | None]]:
        """These cases and their customers' tiers, read together (what a policy matches)."""
        ...


# A unit of work that reaches these repositories: features compose their own unit from these.
class HasSla(Protocol):
    @property
    def sla(self) -> SlaRepository: ...
