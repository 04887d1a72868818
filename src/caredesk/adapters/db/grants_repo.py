"""Repositories for grants, approvals, the ledger and policy versions."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    Subquery,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.adapters.db.config_cache import Cached, ConfigKind, ConfigReads
from caredesk.adapters.db.notifications import LIVE_CHANNEL, notify_on_commit
from caredesk.adapters.db.rows import (
    TableRepository,
    first,
    from_row,
    insert,
    listed,
    onto_row,
    save_row,
)
from caredesk.adapters.db.types import aware_utc
from caredesk.domain.grants import (
    Approval,
    ApprovalStatus,
    Grant,
    GrantStatus,
    LedgerEntry,
    PolicyVersion,
)
from caredesk.domain.orders import OrderStatus
from caredesk.domain.policy.review import PolicyChange, PolicyChangeStatus, PolicyDiff
from caredesk.domain.policy.value import OrderHistory
from caredesk.services.engine.ports import BudgetWindow, Figures, SpendWindow


def _lock_key(scope: str) -> int:
    """A stable 64-bit advisory lock key per scope, apart from other holders of advisory locks."""
    digest = hashlib.sha256(f"caredesk.grants:{scope}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _lock(session: OrmSession, scopes: Collection[str]) -> None:
    """Hold these scopes until the transaction ends.

    PostgreSQL: a transaction lock per scope, taken in one order by every caller so that two
    never wait on each other crosswise. SQLite needs none: a writing transaction holds the
    database's write lock from its first statement (BEGIN IMMEDIATE), so nothing else
    commits until this one does.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for scope in sorted(set(scopes)):
        session.execute(select(func.pg_advisory_xact_lock(_lock_key(scope))))
    # What this session read while another transaction was still committing is read again.
    session.expire_all()


def _counted() -> ColumnElement[bool]:
    """The grants limits, budgets and caps count: executed and standing. A reversed grant is
    no longer executed, and its reversal (the same cost, negated) must not count as well."""
    return and_(
        m.GrantRow.status == GrantStatus.EXECUTED.value, m.GrantRow.reverses_grant_id.is_(None)
    )


def _total(
    value: InstrumentedAttribute[Decimal] | int, window: ColumnElement[bool] | None
) -> ColumnElement[Any]:
    """The sum of `value` over the rows inside `window`; 0 where there is no such window."""
    zero = literal(0)
    if window is None:
        return func.coalesce(zero, 0)
    return func.coalesce(func.sum(case((window, value), else_=zero)), 0)


def _cents(total: Any) -> Decimal:
    return Decimal(total or 0).quantize(Decimal("0.01"))


class SqlGrantRepository(TableRepository[Grant, m.GrantRow]):
    entity, table = Grant, m.GrantRow

    def __init__(self, session: OrmSession) -> None:
        super().__init__(session)
        # The case page reads the case's grants for its story and the planner again for its
        # usage: the grants of the cases read with `for_customer_and_case`, by case.
        self._by_case: dict[int, list[Grant]] = {}

    def save(self, grant: Grant) -> None:
        self._by_case.clear()
        save_row(self.session, grant, m.GrantRow)

    def by_idempotency_key(self, actor: str, key: str) -> Grant | None:
        return self.first(m.GrantRow.actor == actor, m.GrantRow.idempotency_key == key)

    def for_case(self, case_id: int) -> list[Grant]:
        known = self._by_case.get(case_id)
        if known is not None:
            return list(known)
        return self.listed(m.GrantRow.case_id == case_id)

    def for_customer(self, customer_id: str) -> list[Grant]:
        return self.listed(m.GrantRow.customer_id == customer_id)

    def for_customer_and_case(
        self, customer_id: str, case_id: int
    ) -> tuple[list[Grant], list[Grant]]:
        both = self.listed(
            or_(m.GrantRow.customer_id == customer_id, m.GrantRow.case_id == case_id)
        )
        on_case = [g for g in both if g.case_id == case_id]
        self._by_case[case_id] = on_case
        return [g for g in both if g.customer_id == customer_id], list(on_case)

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
    ) -> Figures:
        # One statement: a plan reads these on every case view, and each statement of its own
        # costs more in building and round trips than the sums do in the database. A window
        # whose key is None (no case, no agent, no order) matches no grant: `= NULL` is never
        # true.
        statement = _figures_statement(tuple(b.team is not None for b in budgets))
        row = self.session.execute(
            statement,
            {
                "customer_id": customer_id,
                "case_id": case_id,
                "order_id": order_id,
                "agent_id": agent_id,
                "team_id": team_id,
                "case_order_ids": sorted(set(case_order_ids)),
                "day_start": day_start,
                "since_90d": now - timedelta(days=90),
                "since_365d": now - timedelta(days=365),
                **{f"budget_team_{i}": b.team for i, b in enumerate(budgets) if b.team is not None},
                **{f"budget_since_{i}": b.since for i, b in enumerate(budgets)},
            },
        ).one()
        count, first_at, spend, spend_365d = row[:4]
        case_spent, agent_today, grants_90d, refunds, order_spent = row[4:9]
        case_orders_value, team, *budget_spent = row[9:]
        return Figures(
            history=OrderHistory(int(count), _cents(spend), aware_utc(first_at)),
            spend=SpendWindow(
                case_spent=_cents(case_spent),
                agent_spent_today=_cents(agent_today),
                customer_grants_90d=int(grants_90d or 0),
                customer_refunds_365d=Decimal(refunds or 0),
                customer_spend_365d=Decimal(spend_365d or 0),
                order_spent=_cents(order_spent),
                budget_spent=tuple(_cents(spent) for spent in budget_spent),
            ),
            case_orders_value=_cents(case_orders_value),
            team=team,
        )

    def lock_scopes(self, scopes: Collection[str]) -> None:
        # Read committed sums take no lock of their own: a transaction lock per scope.
        _lock(self.session, scopes)


@cache
def _figures_statement(team_budgets: tuple[bool, ...]) -> Select[Any]:
    """The statement `figures` runs, for budgets of a named team (True) or of the whole desk
    (False), built once per process: built and keyed anew on every plan, a statement this
    size cost more than the database took to answer it. What varies is bound."""
    orders, grants = _orders_figures(), _grants_figures()
    line, team = m.OrderLineRow, m.TeamRow
    case_orders_value = (
        select(func.coalesce(func.sum(line.price), 0))
        .where(line.order_id.in_(bindparam("case_order_ids", expanding=True)))
        .scalar_subquery()
    )
    team_name = select(team.name).where(team.id == bindparam("team_id")).scalar_subquery()
    return (
        select(
            orders,
            grants,
            case_orders_value,
            team_name,
            *(_budget_spent(i, named) for i, named in enumerate(team_budgets)),
        )
        .select_from(orders)
        .join(grants, true())
    )


def _orders_figures() -> Subquery:
    """The customer's orders that were not cancelled: how many, since when, for how much, and
    for how much in the last year (orders without a placement date, imported history,
    count as recent)."""
    order, line = m.OrderRow, m.OrderLineRow
    recent = (order.placed_at >= bindparam("since_365d")) | order.placed_at.is_(None)
    return (
        select(
            func.count(func.distinct(order.id)),
            func.min(order.placed_at),
            func.coalesce(func.sum(line.price), 0),
            _total(line.price, recent),
        )
        .select_from(order)
        .outerjoin(line, line.order_id == order.id)
        .where(
            order.customer_id == bindparam("customer_id"),
            order.status != OrderStatus.CANCELLED.value,
        )
        .subquery("orders_figures")
    )


def _grants_figures() -> Subquery:
    """One pass over the executed grants that can matter, summing each window apart."""
    g = m.GrantRow
    customer = g.customer_id == bindparam("customer_id")
    case_window = g.case_id == bindparam("case_id")
    agent = g.agent_id == bindparam("agent_id")
    agent_window = and_(agent, g.executed_at >= bindparam("day_start"))
    order_window = g.order_id == bindparam("order_id")
    recent = and_(customer, g.cost > 0, g.executed_at >= bindparam("since_90d"))
    return (
        select(
            _total(g.cost, case_window),
            _total(g.cost, agent_window),
            _total(1, recent),
            _total(g.refunded, and_(customer, g.executed_at >= bindparam("since_365d"))),
            _total(g.cost, order_window),
        )
        .where(_counted(), or_(customer, case_window, agent_window, order_window))
        .subquery("grants_figures")
    )


def _budget_spent(index: int, named_team: bool) -> ScalarSelect[Any]:
    """What a budget's team (or the whole desk) has spent since its period began; nothing for
    a team the desk does not have."""
    g = m.GrantRow
    conditions = [_counted(), g.executed_at >= bindparam(f"budget_since_{index}")]
    if named_team:
        team = m.TeamRow
        named = select(team.id).where(team.name == bindparam(f"budget_team_{index}"))
        conditions.append(g.team_id == named.scalar_subquery())
    return select(func.coalesce(func.sum(g.cost), 0)).where(*conditions).scalar_subquery()


class SqlApprovalRepository(TableRepository[Approval, m.ApprovalRow]):
    entity, table = Approval, m.ApprovalRow

    def for_grant(self, grant_id: int) -> Approval | None:
        return self.first(m.ApprovalRow.grant_id == grant_id)

    def add(self, approval: Approval) -> None:
        super().add(approval)
        notify_on_commit(self.session, LIVE_CHANNEL)

    def save(self, approval: Approval) -> None:
        # Only a pending approval may be decided, once: the WHERE makes a double click a no-op.
        result = self.session.execute(
            update(m.ApprovalRow)
            .where(m.ApprovalRow.id == approval.id, m.ApprovalRow.status == "pending")
            .values(
                status=approval.status.value,
                decided_by=approval.decided_by,
                decided_at=approval.decided_at,
                note=approval.note,
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            from caredesk.domain.errors import DomainError, ErrorCode

            raise DomainError(
                f"approval {approval.id} was decided by someone else",
                code=ErrorCode.APPROVAL_DECIDED,
            )
        notify_on_commit(self.session, LIVE_CHANNEL)

    def find(self, status: ApprovalStatus | None, limit: int) -> list[Approval]:
        stmt = select(m.ApprovalRow).order_by(m.ApprovalRow.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(m.ApprovalRow.status == status.value)
        return [from_row(Approval, r) for r in self.session.scalars(stmt)]


class SqlLedgerRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def add(self, entries: list[LedgerEntry]) -> None:
        self.session.add_all(onto_row(e, m.LedgerEntryRow(), memo=e.memo[:300]) for e in entries)
        self.session.flush()

    def for_grant(self, grant_id: int) -> list[LedgerEntry]:
        entry = m.LedgerEntryRow
        return listed(self.session, LedgerEntry, entry, entry.grant_id == grant_id)

    def balance(self, account: str) -> Decimal:
        total = self.session.scalar(
            select(func.coalesce(func.sum(m.LedgerEntryRow.amount), 0)).where(
                m.LedgerEntryRow.account == account
            )
        )
        return _cents(total)

    def trial_balance(self) -> Decimal:
        total = self.session.scalar(select(func.coalesce(func.sum(m.LedgerEntryRow.amount), 0)))
        return _cents(total)


def _digest_in_force(session: OrmSession) -> str | None:
    return session.scalar(select(m.PolicyVersionRow.digest).where(m.PolicyVersionRow.active))


# Which version is in force is configuration like any other (config_cache.py, kind `policy`):
# every plan asks, and it changes when an admin puts another version in force.
_DIGEST = Cached(ConfigKind.POLICY, _digest_in_force)


class SqlPolicyRepository:
    def __init__(self, session: OrmSession, config: ConfigReads) -> None:
        self.session = session
        self.config = config
        # The digest in force as this transaction read it, in a tuple since None (no policy
        # yet) is an answer too. The case page's plan, suggestions and screen each ask for the
        # policy in force; one read serves them all, until this transaction takes the policy
        # lock or puts another version in force.
        self._digest: tuple[str | None] | None = None
        # Under the policy lock the digest is read from the table: the stamps this unit read
        # before it waited for the lock may be older than the version now in force.
        self._locked = False

    def active(self) -> PolicyVersion | None:
        return first(self.session, PolicyVersion, m.PolicyVersionRow, m.PolicyVersionRow.active)

    def active_digest(self) -> str | None:
        if self._digest is None:
            self._digest = (
                _digest_in_force(self.session) if self._locked else self.config.get(_DIGEST),
            )
        return self._digest[0]

    def get(self, version: str) -> PolicyVersion | None:
        policy = m.PolicyVersionRow
        return first(self.session, PolicyVersion, policy, policy.version == version)

    def add(self, version: PolicyVersion) -> None:
        # A version is put in force by activate(), never as it is added.
        insert(self.session, onto_row(version, m.PolicyVersionRow(), active=False))

    def activate(self, version: str) -> None:
        self._digest = None
        self.config.changed(ConfigKind.POLICY)
        self.session.execute(update(m.PolicyVersionRow).values(active=False))
        self.session.execute(
            update(m.PolicyVersionRow)
            .where(m.PolicyVersionRow.version == version)
            .values(active=True)
        )

    def history(self) -> list[PolicyVersion]:
        return listed(self.session, PolicyVersion, m.PolicyVersionRow)

    def lock(self) -> None:
        # Two changes put in force at once would each be compared with the same policy.
        _lock(self.session, ["policy"])
        # Another transaction may have put a policy in force while this one waited.
        self._digest = None
        self._locked = True

    def add_change(self, change: PolicyChange) -> None:
        change.id = insert(self.session, _write_change(m.PolicyChangeRow(), change)).id

    def get_change(self, change_id: int) -> PolicyChange | None:
        row = self.session.get(m.PolicyChangeRow, change_id)
        return _change(row) if row else None

    def save_change(self, change: PolicyChange) -> None:
        row = self.session.get(m.PolicyChangeRow, change.id)
        assert row is not None
        _write_change(row, change)
        self.session.flush()

    def changes(self, status: PolicyChangeStatus | None, limit: int) -> list[PolicyChange]:
        query = select(m.PolicyChangeRow).order_by(m.PolicyChangeRow.id.desc()).limit(limit)
        if status is not None:
            query = query.where(m.PolicyChangeRow.status == status.value)
        return [_change(r) for r in self.session.scalars(query)]


def _write_change(row: m.PolicyChangeRow, change: PolicyChange) -> m.PolicyChangeRow:
    return onto_row(change, row, skip=("id",), diff=change.diff.as_list())


def _change(row: m.PolicyChangeRow) -> PolicyChange:
    return from_row(PolicyChange, row, diff=PolicyDiff.of(row.diff))
