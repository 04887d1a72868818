"""Repositories for grants, approvals, the ledger and policy versions."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.adapters.db.rows import (
    TableRepository,
    first,
    from_row,
    insert,
    listed,
    onto_row,
    save_row,
)
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
from caredesk.services.engine.ports import SpendWindow


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
    """The sum of `value` over the grants inside `window`; 0 where there is no such window."""
    zero = literal(0)
    if window is None:
        return func.coalesce(zero, 0)
    return func.coalesce(func.sum(case((window, value), else_=zero)), 0)


def _cents(total: Any) -> Decimal:
    return Decimal(total or 0).quantize(Decimal("0.01"))


class SqlGrantRepository(TableRepository[Grant, m.GrantRow]):
    entity, table = Grant, m.GrantRow

    def save(self, grant: Grant) -> None:
        save_row(self.session, grant, m.GrantRow)

    def by_idempotency_key(self, actor: str, key: str) -> Grant | None:
        return self.first(m.GrantRow.actor == actor, m.GrantRow.idempotency_key == key)

    def for_case(self, case_id: int) -> list[Grant]:
        return self.listed(m.GrantRow.case_id == case_id)

    def for_customer(self, customer_id: str) -> list[Grant]:
        return self.listed(m.GrantRow.customer_id == customer_id)

    def _executed_sum(self, *conditions: ColumnElement[bool]) -> Decimal:
        total: Any = self.session.scalar(
            select(func.coalesce(func.sum(m.GrantRow.cost), 0)).where(_counted(), *conditions)
        )
        return _cents(total)

    def spend(
        self,
        *,
        case_id: int | None,
        agent_id: int | None,
        customer_id: str,
        order_id: str | None,
        day_start: datetime,
        now: datetime,
    ) -> SpendWindow:
        # One pass over the executed grants that can matter, summing each window apart.
        year_ago = now - timedelta(days=365)
        g = m.GrantRow
        case_window = g.case_id == case_id if case_id is not None else None
        agent_window = (
            and_(g.agent_id == agent_id, g.executed_at >= day_start)
            if agent_id is not None
            else None
        )
        order_window = g.order_id == order_id if order_id is not None else None
        windows = [w for w in (case_window, agent_window, order_window) if w is not None]
        recent = and_(
            g.customer_id == customer_id, g.cost > 0, g.executed_at >= now - timedelta(days=90)
        )
        case_spent, agent_today, grants_90d, refunds, order_spent = self.session.execute(
            select(
                _total(g.cost, case_window),
                _total(g.cost, agent_window),
                _total(1, recent),
                _total(g.refunded, and_(g.customer_id == customer_id, g.executed_at >= year_ago)),
                _total(g.cost, order_window),
            ).where(_counted(), or_(g.customer_id == customer_id, *windows))
        ).one()
        return SpendWindow(
            case_spent=_cents(case_spent),
            agent_spent_today=_cents(agent_today),
            customer_grants_90d=int(grants_90d or 0),
            customer_refunds_365d=Decimal(refunds or 0),
            customer_spend_365d=self._orders_spend(customer_id, year_ago),
            order_spent=_cents(order_spent),
        )

    def _orders_spend(self, customer_id: str, since: datetime) -> Decimal:
        spend = self.session.scalar(
            select(func.coalesce(func.sum(m.OrderLineRow.price), 0))
            .join(m.OrderRow, m.OrderRow.id == m.OrderLineRow.order_id)
            .where(
                m.OrderRow.customer_id == customer_id,
                m.OrderRow.status != OrderStatus.CANCELLED.value,
                # Orders without a placement date (imported history) count as recent.
                (m.OrderRow.placed_at >= since) | m.OrderRow.placed_at.is_(None),
            )
        )
        return Decimal(spend or 0)

    def lock_scopes(self, scopes: Collection[str]) -> None:
        # Read committed sums take no lock of their own: a transaction lock per scope.
        _lock(self.session, scopes)

    def team_spend(self, team_id: int | None, since: datetime) -> Decimal:
        conditions = [m.GrantRow.executed_at >= since]
        if team_id is not None:
            conditions.append(m.GrantRow.team_id == team_id)
        return self._executed_sum(and_(*conditions))


class SqlApprovalRepository(TableRepository[Approval, m.ApprovalRow]):
    entity, table = Approval, m.ApprovalRow

    def for_grant(self, grant_id: int) -> Approval | None:
        return self.first(m.ApprovalRow.grant_id == grant_id)

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


class SqlPolicyRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def active(self) -> PolicyVersion | None:
        return first(self.session, PolicyVersion, m.PolicyVersionRow, m.PolicyVersionRow.active)

    def active_digest(self) -> str | None:
        return self.session.scalar(
            select(m.PolicyVersionRow.digest).where(m.PolicyVersionRow.active)
        )

    def get(self, version: str) -> PolicyVersion | None:
        policy = m.PolicyVersionRow
        return first(self.session, PolicyVersion, policy, policy.version == version)

    def add(self, version: PolicyVersion) -> None:
        # A version is put in force by activate(), never as it is added.
        insert(self.session, onto_row(version, m.PolicyVersionRow(), active=False))

    def activate(self, version: str) -> None:
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
