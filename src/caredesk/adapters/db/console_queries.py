"""The console's read queries: counts for the queues, names for lists, facts for the reports."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    String,
    Subquery,
    and_,
    cast,
    extract,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, QueryableAttribute, joinedload
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.adapters.db.case_filters import case_conditions
from caredesk.adapters.db.mapping import case_from_row, order_from_row
from caredesk.adapters.db.types import aware_utc
from caredesk.domain.cases import Case, MessageKind
from caredesk.domain.grants import ApprovalStatus, GrantStatus
from caredesk.domain.jobs import JobState
from caredesk.domain.ledger import GOODWILL_PREFIX, REFUNDS_ACCOUNT
from caredesk.domain.orders import Order
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.console.ports import (
    CaseFigures,
    GrantBundle,
    OperationsFigures,
    OrderSummary,
    SlaDay,
    SurveyDay,
)

# A timestamp column, or an expression of timestamps (the earlier of two, say).
Timestamp = ColumnElement[Any] | QueryableAttribute[Any]


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

    def _day(self, column: Timestamp) -> ColumnElement[Any]:
        """The UTC day of a timestamp: SQLite keeps them as UTC text, PostgreSQL's day would
        be the session's time zone's."""
        if self._dialect == "sqlite":
            return func.date(column)
        return cast(func.timezone("UTC", column), Date)

    def _seconds(self, start: Timestamp, end: Timestamp) -> ColumnElement[Any]:
        """The seconds from start to end, never below zero (an imported reply may predate its
        case)."""
        if self._dialect == "sqlite":
            # julianday's days in a double: rounded to the millisecond, so that a reply an
            # hour and a half later is 5400 seconds, not 5399.99999.
            seconds: ColumnElement[Any] = func.round(
                (func.julianday(end) - func.julianday(start)) * 86400, 3
            )
            return func.max(seconds, 0)
        return func.greatest(extract("epoch", end - start), 0)

    def _first_reply(self, since: datetime) -> Subquery:
        return (
            select(
                m.MessageRow.case_id.label("case_id"),
                func.min(m.MessageRow.created_at).label("first_reply_at"),
            )
            .where(
                m.MessageRow.kind == MessageKind.OUTBOUND.value,
                # Only the period's cases: the whole message history would be grouped otherwise.
                m.MessageRow.case_id.in_(select(m.CaseRow.id).where(m.CaseRow.created_at >= since)),
            )
            .group_by(m.MessageRow.case_id)
            .subquery()
        )

    def case_figures(self, since: datetime) -> CaseFigures:
        # One statement over the period's cases, read once (a CTE) for every figure: the
        # cases a day, the service levels, and the medians with their counts.
        case, first_reply = m.CaseRow, self._first_reply(since)
        period = (
            select(
                self._day(case.created_at).label("day"),
                case.created_at,
                first_reply.c.first_reply_at,
                case.solved_at,
                case.service_level,
            )
            .outerjoin(first_reply, first_reply.c.case_id == case.id)
            .where(case.created_at >= since)
            .cte("period")
        )
        opened = select(literal("opened"), period.c.day, null(), func.count()).group_by(
            period.c.day
        )
        levels = (
            select(literal("level"), null(), period.c.service_level, func.count())
            .where(period.c.solved_at.is_not(None))
            .group_by(period.c.service_level)
        )
        replies = select(
            period.c.day, self._seconds(period.c.created_at, period.c.first_reply_at)
        ).where(period.c.first_reply_at.is_not(None))
        solves = select(period.c.day, self._seconds(period.c.created_at, period.c.solved_at)).where(
            period.c.solved_at.is_not(None)
        )
        rows = self.session.execute(
            union_all(opened, levels, *_medians("reply", replies), *_medians("solve", solves))
        )
        return _case_figures(rows)

    @staticmethod
    def _executed_since(since: datetime) -> list[ColumnElement[bool]]:
        # A grant reversed later still counts (it was granted); the reversal itself does not.
        return [
            m.GrantRow.status.in_([GrantStatus.EXECUTED.value, GrantStatus.REVERSED.value]),
            m.GrantRow.reverses_grant_id.is_(None),
            m.GrantRow.executed_at >= since,
        ]

    def grant_bundles(self, since: datetime) -> list[GrantBundle]:
        # Grouped by the bundle's text (PostgreSQL's json has no equality to group by): the
        # few bundles a desk grants, not every grant of the period.
        bundle = cast(m.GrantRow.remedy_ids, String)
        rows = self.session.execute(
            select(bundle, func.count(), func.coalesce(func.sum(m.GrantRow.cost), 0))
            .where(*self._executed_since(since))
            .group_by(bundle)
        )
        return [
            GrantBundle(list(json.loads(remedy_ids)), int(n), _money(cost))
            for remedy_ids, n, cost in rows
        ]

    def grant_cost_by_remedy(self, since: datetime) -> dict[str | None, Decimal]:
        entry = m.LedgerEntryRow
        rows = self.session.execute(
            select(entry.remedy_id, func.sum(entry.amount))
            .join(m.GrantRow, m.GrantRow.id == entry.grant_id)
            .where(
                *self._executed_since(since),
                # The same test as ledger.is_cost, in SQL.
                entry.amount > 0,
                (entry.account == REFUNDS_ACCOUNT) | entry.account.startswith(GOODWILL_PREFIX),
            )
            .group_by(entry.remedy_id)
        )
        return {remedy_id: Decimal(str(total)) for remedy_id, total in rows}

    def sla_days(self, since: datetime) -> list[SlaDay]:
        clock = m.SlaClockRow
        day = self._day(func.coalesce(clock.breached_at, clock.completed_at)).label("day")
        rows = self.session.execute(
            select(day, func.count(), func.count().filter(clock.breached_at.is_(None)))
            .where(
                clock.target_minutes.is_not(None),
                (clock.breached_at >= since)
                | (clock.breached_at.is_(None) & (clock.completed_at >= since)),
            )
            .group_by(day)
            .order_by(day)
        )
        return [SlaDay(_as_date(d), int(decided), int(met)) for d, decided, met in rows]

    def survey_days(self, since: datetime) -> list[SurveyDay]:
        survey = m.SatisfactionSurveyRow
        day = self._day(survey.answered_at).label("day")
        rows = self.session.execute(
            select(day, func.count(survey.score), func.coalesce(func.sum(survey.score), 0))
            .where(survey.answered_at >= since, survey.score.is_not(None))
            .group_by(day)
            .order_by(day)
        )
        return [SurveyDay(_as_date(d), int(n), int(total)) for d, n, total in rows]


def _as_date(value: date | str) -> date:
    """A day as the database gives it back: SQLite's is ISO text."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _case_figures(rows: Iterable[Any]) -> CaseFigures:
    """The figures from the rows of `case_figures`: (what, day, value, count)."""
    opened: dict[date, int] = {}
    levels = {1: 0, 2: 0, 3: 0}
    by_day: dict[str, dict[date, float]] = {"reply": {}, "solve": {}}
    overall: dict[str, tuple[float, int]] = {}
    for what, day, value, n in rows:
        if what == "opened":
            opened[_as_date(day)] = int(n)
        elif what == "level":
            if value in levels:
                levels[int(value)] = int(n)
        elif value is None:
            continue  # no value at all: the aggregate over none is one row of NULLs
        elif day is None:
            overall[what] = (float(value) / 3600, int(n))
        else:
            by_day[what][_as_date(day)] = float(value) / 3600
    reply, solve = overall.get("reply"), overall.get("solve")
    return CaseFigures(
        opened=opened,
        first_reply_hours=by_day["reply"],
        resolution_hours=by_day["solve"],
        median_first_reply_hours=reply[0] if reply else None,
        median_resolution_hours=solve[0] if solve else None,
        replied=reply[1] if reply else 0,
        solved=solve[1] if solve else 0,
        service_levels=levels,
    )


def _medians(what: str, values: Select[Any]) -> tuple[Select[Any], Select[Any]]:
    """The median of `values` (day, value) by day, and over them all (its day NULL), each with
    how many values it is the median of: the middle value of the sorted values, or the mean of
    the middle two, found by window functions as both databases have them."""
    source = values.subquery()
    day, value = source.c
    ranked = select(
        day.label("day"),
        value.label("value"),
        func.row_number().over(partition_by=day, order_by=value).label("r"),
        func.count().over(partition_by=day).label("n"),
        func.row_number().over(order_by=value).label("r_all"),
        func.count().over().label("n_all"),
    ).cte(f"{what}_ranked")
    by_day = (
        select(literal(what), ranked.c.day, func.avg(ranked.c.value), func.max(ranked.c.n))
        .where(_middle(ranked.c.r, ranked.c.n))
        .group_by(ranked.c.day)
    )
    overall = select(
        literal(what), null(), func.avg(ranked.c.value), func.max(ranked.c.n_all)
    ).where(_middle(ranked.c.r_all, ranked.c.n_all))
    return by_day, overall


def _middle(rank: ColumnElement[Any], count: ColumnElement[Any]) -> ColumnElement[bool]:
    # Integer division on both databases: the middle one of 5 is the 3rd, of 4 the 2nd and 3rd.
    return (rank == (count + 1) // 2) | (rank == (count + 2) // 2)
