"""What the agent console reads beyond the entity repositories: counts, names, operations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping

    from caredesk.domain.cases import Case
    from caredesk.domain.orders import Order
    from caredesk.services.cases.ports import CaseFilter


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """One line of a customer's order history: enough for the list, without the order's rows."""

    id: str
    status: str
    placed_at: datetime | None
    total: Decimal
    promised_date: date | None


@dataclass(frozen=True, slots=True)
class OperationsFigures:
    """What an operator watches across every process: the job queue, grants, approvals and
    mail, as the database has them."""

    jobs: dict[str, int]  # by state
    oldest_due_job_at: datetime | None  # the queued job that has waited longest to run
    grants: dict[str, int]  # by status
    approvals: dict[str, int]  # by status
    mail: dict[str, int]  # by direction: "in", "out"


class ConsoleQueries(Protocol):
    def count_cases_each(
        self, within: CaseFilter, each: Mapping[str, CaseFilter]
    ) -> dict[str, int]:
        """How many of the cases `within` selects meet each filter of `each`, by its name, in
        one statement."""
        ...

    def count_pending_approvals(self) -> int: ...

    def operations(self, now: datetime) -> OperationsFigures:
        """The figures of /metrics, in a fixed number of grouped queries."""
        ...

    def customer_names(self, customer_ids: set[str]) -> dict[str, str]: ...

    def order_summaries(self, customer_id: str) -> list[OrderSummary]:
        """Every order of the customer, oldest first, in a fixed number of queries."""
        ...

    def orders_in_detail(self, customer_id: str, order_ids: list[str], recent: int) -> list[Order]:
        """The named orders and the `recent` newest ones, whole, oldest first."""
        ...

    def next_due(self, case_ids: list[int]) -> dict[int, datetime]:
        """The earliest due time of each case's running SLA clocks."""
        ...

    def cases_by_due(
        self, filters: CaseFilter, limit: int, offset: int, due_before: datetime | None
    ) -> list[Case]:
        """Cases soonest due first (cases without a clock last); with `due_before`, only
        cases with a clock due before then."""
        ...

    def change_stamp(self) -> str:
        """A value that changes whenever a case or an approval is added or changed."""
        ...


# A unit of work that reaches these repositories: features compose their own unit from these.
class HasConsole(Protocol):
    @property
    def console(self) -> ConsoleQueries: ...
