"""What the agent console reads beyond the entity repositories: counts, names, report facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from caredesk.services.ports import CaseFilter


@dataclass(frozen=True, slots=True)
class CaseTiming:
    """One case's milestones, for first-reply and resolution times."""

    created_at: datetime
    first_reply_at: datetime | None
    solved_at: datetime | None
    service_level: int | None


@dataclass(frozen=True, slots=True)
class GrantFact:
    remedy_ids: list[str]
    cost: Decimal
    service_level: int
    executed_at: datetime


class ConsoleQueries(Protocol):
    def count_cases(self, filters: CaseFilter) -> int: ...

    def count_pending_approvals(self) -> int: ...

    def customer_names(self, customer_ids: set[str]) -> dict[str, str]: ...

    def change_stamp(self) -> str:
        """A value that changes whenever a case or an approval is added or changed."""
        ...

    def cases_per_day(self, since: datetime) -> list[tuple[date, int]]: ...

    def case_timings(self, since: datetime) -> list[CaseTiming]: ...

    def executed_grants(self, since: datetime) -> list[GrantFact]: ...
