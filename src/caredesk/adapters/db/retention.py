"""Retention after a remedy, counted by the database: for each customer's first case solved in
the period, the remedies granted on it, its issue type and value band, and the orders placed
after it; grouped so that the rows are a few per remedy, whatever the number of cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import CTE, ColumnElement, Subquery, case, exists, func, literal, select, true
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import aliased

from caredesk.adapters.db import models as m
from caredesk.domain.grants import GrantStatus
from caredesk.domain.ledger import GOODWILL_PREFIX, REFUNDS_ACCOUNT
from caredesk.domain.orders import OrderStatus
from caredesk.domain.remedy_returns import LOWEST_BAND, VALUE_BANDS
from caredesk.services.reports.retention import NO_REMEDY, NOT_TRIAGED, RetentionCell


class SqlRetentionQueries:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    @property
    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def retention_cells(
        self, start: datetime, end: datetime, now: datetime, windows: Sequence[int]
    ) -> list[RetentionCell]:
        first = _first_solved(start, end)
        later = self._later_orders(first, windows)
        granted, cost = self._granted(first), _remedy_cost(first)
        prior = _prior_spend(first)
        remedy = func.coalesce(granted.c.remedy_id, NO_REMEDY).label("remedy")
        issue = func.coalesce(m.CaseTriageRow.intent, NOT_TRIAGED).label("issue")
        band = _band(func.coalesce(prior.c.spend, 0)).label("band")
        per_case = (
            select(
                first.c.solved_at,
                first.c.level,
                remedy,
                issue,
                band,
                func.coalesce(cost.c.cost, 0).label("cost"),
                *(func.coalesce(later.c[f"orders_{w}"], 0).label(f"orders_{w}") for w in windows),
                *(func.coalesce(later.c[f"spend_{w}"], 0).label(f"spend_{w}") for w in windows),
            )
            .outerjoin(m.CaseTriageRow, m.CaseTriageRow.case_id == first.c.case_id)
            .outerjoin(prior, prior.c.case_id == first.c.case_id)
            .outerjoin(later, later.c.case_id == first.c.case_id)
            .outerjoin(granted, granted.c.case_id == first.c.case_id)
            .outerjoin(
                cost,
                (cost.c.case_id == first.c.case_id) & (cost.c.remedy_id == granted.c.remedy_id),
            )
            .subquery("per_case")
        )
        figures: list[ColumnElement[Any]] = []
        for w in windows:
            # A customer solved fewer than w days before now has not had w days to come back.
            elapsed = per_case.c.solved_at <= now - timedelta(days=w)
            figures += [
                func.count().filter(elapsed),
                func.count().filter(elapsed & (per_case.c[f"orders_{w}"] > 0)),
                func.coalesce(func.sum(per_case.c[f"spend_{w}"]).filter(elapsed), 0),
                func.coalesce(func.sum(per_case.c.cost).filter(elapsed), 0),
            ]
        keys = (per_case.c.remedy, per_case.c.level, per_case.c.issue, per_case.c.band)
        rows = self.session.execute(
            select(*keys, func.count(), *figures).group_by(*keys).order_by(*keys)
        )
        return [cell for row in rows for cell in _cells(row, windows)]

    def _days_after(self, start: Any, end: Any) -> ColumnElement[Any]:
        """The days from start to end, as a fraction."""
        if self._dialect == "sqlite":
            return func.julianday(end) - func.julianday(start)
        return func.extract("epoch", end - start) / 86400

    def _later_orders(self, first: CTE, windows: Sequence[int]) -> Subquery:
        """Per case: the orders placed after it was solved and what they came to, within each
        window (orders cancelled and the replacements remedies shipped are no purchase)."""
        order, line = m.OrderRow, m.OrderLineRow
        days = self._days_after(first.c.solved_at, order.placed_at)
        # Each order's total read through the index on its lines' order_id: a grouped total of
        # the lines joined afterwards was planned as a loop over every total for every order.
        total = (
            select(func.sum(line.price))
            .where(line.order_id == order.id)
            .correlate(order)
            .scalar_subquery()
        )
        placed = (
            select(first.c.case_id, days.label("days"), total.label("total"))
            .join(order, order.customer_id == first.c.customer_id)
            .where(order.placed_at > first.c.solved_at, *_purchases())
            .where(days <= max(windows))
            .subquery("placed")
        )
        within = {w: placed.c.days <= w for w in windows}
        return (
            select(
                placed.c.case_id,
                *(func.count().filter(within[w]).label(f"orders_{w}") for w in windows),
                *(
                    func.sum(func.coalesce(placed.c.total, 0)).filter(within[w]).label(f"spend_{w}")
                    for w in windows
                ),
            )
            .group_by(placed.c.case_id)
            .subquery("later")
        )

    def _granted(self, first: CTE) -> Subquery:
        """Each remedy granted on the case, once: a bundle's case counts under each of its
        remedies."""
        grant = m.GrantRow
        if self._dialect == "sqlite":
            each = func.json_each(grant.remedy_ids).table_valued("value")
        else:
            each = func.json_array_elements_text(grant.remedy_ids).table_valued("value")
        return (
            select(grant.case_id, each.c.value.label("remedy_id"))
            .select_from(grant)
            .join(each, true())
            .where(grant.case_id.in_(select(first.c.case_id)), *_granted_conditions())
            .distinct()
            .subquery("granted")
        )


def _first_solved(start: datetime, end: datetime) -> CTE:
    """Each customer's first case solved in [start, end) (by solved_at, then id): a customer
    counts once. A CTE, worked out once: the statement reads it six times. The first is the
    case with no earlier one of its customer in the period, an anti-join whose size the
    database estimates well; PostgreSQL took the first of a ranking for a few dozen cases
    and joined the rest in loops over every pair."""
    case_, earlier = m.CaseRow, aliased(m.CaseRow, name="earlier")
    in_period = (case_.solved_at >= start, case_.solved_at < end)
    before = exists().where(
        earlier.customer_id == case_.customer_id,
        earlier.solved_at >= start,
        (earlier.solved_at < case_.solved_at)
        | ((earlier.solved_at == case_.solved_at) & (earlier.id < case_.id)),
    )
    return (
        select(
            case_.id.label("case_id"),
            case_.customer_id,
            case_.created_at,
            case_.solved_at,
            func.coalesce(case_.service_level, 0).label("level"),
        )
        .where(*in_period, ~before)
        .cte("first_solved")
    )


def _purchases() -> list[ColumnElement[bool]]:
    order = m.OrderRow
    return [
        order.status != OrderStatus.CANCELLED.value,
        order.details["replacement_for"].as_string().is_(None),
    ]


def _granted_conditions() -> list[ColumnElement[bool]]:
    # A grant reversed later still counts (it was granted); the reversal itself does not.
    return [
        m.GrantRow.status.in_([GrantStatus.EXECUTED.value, GrantStatus.REVERSED.value]),
        m.GrantRow.reverses_grant_id.is_(None),
    ]


def _remedy_cost(first: CTE) -> Subquery:
    """What each remedy posted as cost on the case's grants (the same test as ledger.is_cost);
    entries of older bundles that named no remedy are attributed to none."""
    entry = m.LedgerEntryRow
    return (
        select(m.GrantRow.case_id, entry.remedy_id, func.sum(entry.amount).label("cost"))
        .join(m.GrantRow, m.GrantRow.id == entry.grant_id)
        .where(
            m.GrantRow.case_id.in_(select(first.c.case_id)),
            *_granted_conditions(),
            entry.amount > 0,
            (entry.account == REFUNDS_ACCOUNT) | entry.account.startswith(GOODWILL_PREFIX),
        )
        .group_by(m.GrantRow.case_id, entry.remedy_id)
        .subquery("remedy_cost")
    )


def _prior_spend(first: CTE) -> Subquery:
    """What the customer had spent before the case was opened: their value band's measure."""
    order, line = m.OrderRow, m.OrderLineRow
    return (
        select(first.c.case_id, func.sum(line.price).label("spend"))
        .join(order, order.customer_id == first.c.customer_id)
        .join(line, line.order_id == order.id)
        .where(order.placed_at < first.c.created_at, *_purchases())
        .group_by(first.c.case_id)
        .subquery("prior_spend")
    )


def _band(spend: ColumnElement[Any]) -> ColumnElement[str]:
    whens = [(spend >= literal(floor), literal(name)) for name, floor in VALUE_BANDS]
    return case(*whens, else_=literal(LOWEST_BAND))


def _cells(row: Any, windows: Sequence[int]) -> list[RetentionCell]:
    """A row of (remedy, level, issue type, band, customers, then n, k, spend and cost for
    each window) as a cell per window."""
    remedy_id, level, issue_type, value_band, total = row[:5]
    cells = []
    for i, w in enumerate(windows):
        n, k, spend, spent = row[5 + 4 * i : 9 + 4 * i]
        cells.append(
            RetentionCell(
                str(remedy_id),
                int(level),
                str(issue_type),
                str(value_band),
                w,
                int(total),
                int(n),
                int(k),
                _money(spend),
                _money(spent),
            )
        )
    return cells


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))
