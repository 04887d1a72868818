"""What the empowerment engine needs from storage: grants, approvals, the ledger and policy
versions."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from caredesk.domain.grants import Approval, ApprovalStatus, Grant, LedgerEntry, PolicyVersion
from caredesk.domain.policy.review import PolicyChange, PolicyChangeStatus
from caredesk.domain.policy.value import OrderHistory
from caredesk.services.core.ports import Repository


@dataclass(frozen=True, slots=True)
class SpendWindow:
    """Sums of executed grants that authority, budgets, guardrails and caps add a new grant
    to; a reversed grant and its reversal count for nothing."""

    case_spent: Decimal
    agent_spent_today: Decimal
    customer_grants_90d: int
    customer_refunds_365d: Decimal
    customer_spend_365d: Decimal
    order_spent: Decimal
    budget_spent: tuple[Decimal, ...]  # one sum per BudgetWindow asked, in its order


@dataclass(frozen=True, slots=True)
class BudgetWindow:
    """The grants one budget counts: its team's, by name (None: every team's), executed since
    its period began."""

    team: str | None
    since: datetime


@dataclass(frozen=True, slots=True)
class Figures:
    """Every sum a plan or a grant counts, read in one statement: the customer's orders (for
    their value), the grants each limit adds to, the value of the orders a case is about
    (its issue's cap) and the name of the case's team (budgets name teams)."""

    history: OrderHistory
    spend: SpendWindow
    case_orders_value: Decimal
    team: str | None


class GrantRepository(Repository[Grant, int], Protocol):
    def by_idempotency_key(self, actor: str, key: str) -> Grant | None: ...

    def for_case(self, case_id: int) -> list[Grant]: ...

    def for_customer(self, customer_id: str) -> list[Grant]: ...

    def for_customer_and_case(
        self, customer_id: str, case_id: int
    ) -> tuple[list[Grant], list[Grant]]:
        """Every grant to the customer and every grant on the case (a forced merge may have
        brought another customer's), read together; `for_case` then finds the case's again
        without another read until this repository writes a grant."""
        ...

    def figures(
        self,
        *,
        customer_id: str,
        case_id: int | None,
        case_order_ids: Collection[str],
        order_id: str | None,
        agent_id: int | None,
        team_id: int | None,
        budgets: Sequence[BudgetWindow],
        day_start: datetime,
        now: datetime,
    ) -> Figures: ...

    def lock_scopes(self, scopes: Collection[str]) -> None:
        """Hold these scopes ("agent:7", "customer:c1", "budget:*", …) until the transaction
        ends, waiting for any other transaction that holds one, and read from then on what it
        committed: the sums read next count every grant on them, and no other grant on them
        commits before this one does."""
        ...


class ApprovalRepository(Repository[Approval, int], Protocol):
    def for_grant(self, grant_id: int) -> Approval | None: ...

    def find(self, status: ApprovalStatus | None, limit: int) -> list[Approval]: ...


class LedgerRepository(Protocol):
    def add(self, entries: list[LedgerEntry]) -> None: ...

    def for_grant(self, grant_id: int) -> list[LedgerEntry]: ...

    def balance(self, account: str) -> Decimal: ...

    def trial_balance(self) -> Decimal: ...


class PolicyRepository(Protocol):
    def active(self) -> PolicyVersion | None: ...

    def active_digest(self) -> str | None: ...

    def get(self, version: str) -> PolicyVersion | None: ...

    def add(self, version: PolicyVersion) -> None: ...

    def activate(self, version: str) -> None: ...

    def history(self) -> list[PolicyVersion]: ...

    def lock(self) -> None:
        """Hold the policy in force until commit: changes to it run one after the other."""
        ...

    def add_change(self, change: PolicyChange) -> None: ...

    def get_change(self, change_id: int) -> PolicyChange | None: ...

    def save_change(self, change: PolicyChange) -> None: ...

    def changes(self, status: PolicyChangeStatus | None, limit: int) -> list[PolicyChange]: ...


# A unit of work that reaches these repositories: features compose their own unit from these.
class HasGrants(Protocol):
    @property
    def grants(self) -> GrantRepository: ...


class HasApprovals(Protocol):
    @property
    def approvals(self) -> ApprovalRepository: ...


class HasLedger(Protocol):
    @property
    def ledger(self) -> LedgerRepository: ...


class HasPolicies(Protocol):
    @property
    def policies(self) -> PolicyRepository: ...
