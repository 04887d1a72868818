"""What the agent console reads beyond the entity repositories: counts, names, report facts."""

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
class CaseFigures:
    """The cases opened since a day: how many each day (UTC), the median hours they waited for
    their first reply and their resolution, by day opened and overall, how many were answered
    and solved, and the solved ones by the service level of their resolution (1, 2 or 3)."""

    opened: dict[date, int]
    first_reply_hours: dict[date, float]
    resolution_hours: dict[date, float]
    median_first_reply_hours: float | None
    median_resolution_hours: float | None
    replied: int
    solved: int
    service_levels: dict[int, int]


@dataclass(frozen=True, slots=True)
class GrantBundle:
    """The grants of one bundle of remedies: how many, and what they cost together."""

    remedy_ids: list[str]
    grants: int
    cost: Decimal


@dataclass(frozen=True, slots=True)
class SlaDay:
    """The SLA targets decided on one day, and how many of them were met in time."""

    day: date
    decided: int
    met: int


@dataclass(frozen=True, slots=True)
class SurveyDay:
    """The surveys answered on one day and the sum of their scores."""

    day: date
    answered: int
    score_total: int


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

    # The dashboard's figures, each grouped by the database: the period's cases, grants,
    # targets and surveys are never read one by one.
    def case_figures(self, since: datetime) -> CaseFigures: ...

    def grant_bundles(self, since: datetime) -> list[GrantBundle]:
        """The grants executed since then, by the bundle of remedies they granted."""
        ...

    def grant_cost_by_remedy(self, since: datetime) -> dict[str | None, Decimal]:
        """What each remedy of the grants executed since then debited to refunds and goodwill
        (`ledger.is_cost`), from the ledger; None holds entries that name no remedy."""
        ...

    def sla_days(self, since: datetime) -> list[SlaDay]:
        """The SLA targets decided since then, by the day decided (breached, else met)."""
        ...

    def survey_days(self, since: datetime) -> list[SurveyDay]:
        """The surveys answered since then, by the day answered."""
        ...


# A unit of work that reaches these repositories: features compose their own unit from these.
class HasConsole(Protocol):
    @property
    def console(self) -> ConsoleQueries: ...
