"""The console's read queries: counts for the queues, names for lists, what operators watch."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    ColumnElement,
    Subquery,
    and_,
    func,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, joinedload
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.adapters.db.case_filters import case_conditions
from caredesk.adapters.db.mapping import case_from_row, order_from_row
from caredesk.adapters.db.types import aware_utc
from caredesk.domain.cases import Case
from caredesk.domain.grants import ApprovalStatus
from caredesk.domain.jobs import JobState
from caredesk.domain.orders import Order
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.console.ports import OperationsFigures, OrderSummary


class SqlConsoleQueries:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    @property
    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def _case_conditions(self, filters: CaseFilter) -> list[ColumnElement[bool]]:
        return case_conditions(filters, self._dialect)

    def count_cases_each(
        self, within: CaseFilter, each: Mapping[str, CaseFilter]
    ) -> dict[str, int]:
        # One pass over the cases `within` selects, each count an aggregate's FILTER: the
        # queues' counts were a statement each, every one a scan of the open cases.
        counts = []
        for filters in each.values():
            conditions = self._case_conditions(filters)
            counts.append(func.count().filter(and_(*conditions)) if conditions else func.count())
        if not counts:
            return {}
        row = self.session.execute(
            select(*counts).select_from(m.CaseRow).where(*self._case_conditions(within))
        ).one()
        return {name: int(n or 0) for name, n in zip(each, row, strict=True)}

    def count_pending_approvals(self) -> int:
        stmt = select(func.count()).where(m.ApprovalRow.status == ApprovalStatus.PENDING.value)
        return int(self.session.scalar(stmt) or 0)

    def operations(self, now: datetime) -> OperationsFigures:
        def by(column: InstrumentedAttribute[str]) -> dict[str, int]:
            rows = self.session.execute(select(column, func.count()).group_by(column)).all()
            return {str(key): int(n) for key, n in rows}

        oldest = self.session.scalar(
            select(func.min(m.JobRow.run_at)).where(
                m.JobRow.state == JobState.QUEUED.value, m.JobRow.run_at <= now
            )
        )
        return OperationsFigures(
            jobs={state.value: 0 for state in JobState} | by(m.JobRow.state),
            oldest_due_job_at=aware_utc(oldest),
            grants=by(m.GrantRow.status),
            approvals=by(m.ApprovalRow.status),
            mail={"in": 0, "out": 0} | by(m.MailMessageRow.direction),
        )

    def customer_names(self, customer_ids: set[str]) -> dict[str, str]:
        if not customer_ids:
            return {}
        rows = self.session.execute(
            select(m.CustomerRow.id, m.CustomerRow.first_name, m.CustomerRow.last_name).where(
                m.CustomerRow.id.in_(customer_ids)
            )
        )
        return {cid: f"{first} {last}".strip() for cid, first, last in rows}

    def order_summaries(self, customer_id: str) -> list[OrderSummary]:
        # Aggregates instead of whole orders: a customer with hundreds of orders costs two
        # grouped scans, not hundreds of mapped rows with their lines and shipments.
        totals = (
            select(m.OrderLineRow.order_id, func.sum(m.OrderLineRow.price).label("total"))
            .join(m.OrderRow, m.OrderRow.id == m.OrderLineRow.order_id)
            .where(m.OrderRow.customer_id == customer_id)
            .group_by(m.OrderLineRow.order_id)
            .subquery()
        )
        promised = (
            select(m.ShipmentRow.order_id, func.max(m.ShipmentRow.promised_date).label("promised"))
            .join(m.OrderRow, m.OrderRow.id == m.ShipmentRow.order_id)
            .where(m.OrderRow.customer_id == customer_id)
            .group_by(m.ShipmentRow.order_id)
            .subquery()
        )
        rows = self.session.execute(
            select(
                m.OrderRow.id,
                m.OrderRow.status,
                m.OrderRow.placed_at,
                totals.c.total,
                promised.c.promised,
            )
            .outerjoin(totals, totals.c.order_id == m.OrderRow.id)
            .outerjoin(promised, promised.c.order_id == m.OrderRow.id)
            .where(m.OrderRow.customer_id == customer_id)
            .order_by(m.OrderRow.seq)
        )
        return [
            OrderSummary(
                order_id,
                status,
                aware_utc(placed),
                Decimal(total or 0).quantize(Decimal("0.01")),
                date.fromisoformat(due) if isinstance(due, str) else due,
            )
            for order_id, status, placed, total, due in rows
        ]

    def orders_in_detail(self, customer_id: str, order_ids: list[str], recent: int) -> list[Order]:
        newest = (
            select(m.OrderRow.id)
            .where(m.OrderRow.customer_id == customer_id)
            .order_by(m.OrderRow.seq.desc())
            .limit(recent)
        )
        # Each order with its lines, shipments and payments in the one statement: a row per
        # combination of the three, a few dozen for a few orders, where they were a statement
        # each. Only the case's orders and the newest few come whole.
        rows = self.session.scalars(
            select(m.OrderRow)
            .where(
                m.OrderRow.customer_id == customer_id,
                m.OrderRow.id.in_(newest.scalar_subquery()) | m.OrderRow.id.in_(order_ids),
            )
            .options(
                joinedload(m.OrderRow.lines),
                joinedload(m.OrderRow.shipments),
                joinedload(m.OrderRow.payments),
            )
            .order_by(m.OrderRow.seq)
        ).unique()
        return [order_from_row(r) for r in rows]

    @staticmethod
    def _due() -> Subquery:
        return (
            select(m.SlaClockRow.case_id, func.min(m.SlaClockRow.due_at).label("due_at"))
            .where(m.SlaClockRow.completed_at.is_(None), m.SlaClockRow.due_at.is_not(None))
            .group_by(m.SlaClockRow.case_id)
            .subquery()
        )

    def next_due(self, case_ids: list[int]) -> dict[int, datetime]:
        if not case_ids:
            return {}
        due = self._due()
        rows = self.session.execute(select(due).where(due.c.case_id.in_(case_ids)))
        return {case_id: at for case_id, at in ((r[0], aware_utc(r[1])) for r in rows) if at}

    def cases_by_due(
        self, filters: CaseFilter, limit: int, offset: int, due_before: datetime | None
    ) -> list[Case]:
        due = self._due()
        stmt = select(m.CaseRow).where(*self._case_conditions(filters))
        if due_before is not None:
            stmt = stmt.join(due, due.c.case_id == m.CaseRow.id).where(due.c.due_at < due_before)
        else:
            stmt = stmt.outerjoin(due, due.c.case_id == m.CaseRow.id)
        stmt = stmt.order_by(due.c.due_at.asc().nulls_last(), m.CaseRow.id).limit(limit)
        rows = self.session.scalars(stmt.offset(offset))
        return [case_from_row(r) for r in rows]

    def change_stamp(self) -> str:
        # Each part is an index lookup, so the stamp stays cheap at any number of cases; one
        # statement, because every queue page and every live tick reads it.
        parts = (
            func.max(m.CaseRow.id),
            func.max(m.CaseRow.updated_at),
            func.max(m.ApprovalRow.id),
            func.max(m.ApprovalRow.decided_at),
        )
        row = self.session.execute(
            select(*(select(part).scalar_subquery() for part in parts))
        ).one()
        return "|".join(str(value) for value in row)
