"""The manager's dashboard is grouped by the database: its figures are those worked out from
every case, grant, SLA target and survey of the period, and it reads a few rows a day, not a
row a case."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, insert

from caredesk.adapters.db import models as m
from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM
from caredesk.domain.cases import Case, MessageKind
from caredesk.domain.grants import GrantStatus
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.console import console
from tests.integration.demo_store import load_demo_store

DAYS = 90
ADMIN = {"admin_email": "admin@caredesk.example", "admin_password": "demo-password-1"}


def _hours(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 3600)


def _by_day(
    pairs: list[tuple[date, float]], days: list[date], figure: Callable[[list[float]], float]
) -> list[console.DailyFigure]:
    grouped: dict[date, list[float]] = {}
    for day, value in pairs:
        grouped.setdefault(day, []).append(value)
    return [console.DailyFigure(d, figure(grouped[d]) if d in grouped else 0.0) for d in days]


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def _share(met: list[float]) -> float:
    return round(100 * sum(met) / len(met), 1)


def _expected(container: Container, since: datetime, days: list[date]) -> dict[str, Any]:
    """The dashboard's figures worked out in Python from every record of the period."""
    with container.uow.read_only() as uow:
        everything: list[Case] = uow.cases.find(CaseFilter(), 10_000, None).items
        period = [c for c in everything if c.created_at >= since]
        replied_at = {}
        for case in period:
            assert case.id is not None
            outbound = [
                m.created_at
                for m in uow.cases.messages(case.id)
                if m.kind is MessageKind.OUTBOUND and m.created_at is not None
            ]
            if outbound:
                replied_at[case.id] = min(outbound)
        grants = {
            g.id: g
            for customer_id in {c.customer_id for c in everything}
            for g in uow.grants.for_customer(customer_id)
        }.values()
        clocks = [k for c in everything if c.id is not None for k in uow.sla.clocks(c.id)]
        surveys = uow.portal.surveys(answered_since=since, limit=10_000)
    replies = [
        (c.created_at.date(), _hours(c.created_at, replied_at[c.id]))
        for c in period
        if c.id in replied_at
    ]
    solves = [
        (c.created_at.date(), _hours(c.created_at, c.solved_at)) for c in period if c.solved_at
    ]
    granted = [
        g
        for g in grants
        if g.status in (GrantStatus.EXECUTED, GrantStatus.REVERSED)
        and g.reverses_grant_id is None
        and g.executed_at is not None
        and g.executed_at >= since
    ]
    decided = [
        (at.date(), k.breached_at is None)
        for k in clocks
        if k.target_minutes is not None
        and (at := k.breached_at or k.completed_at) is not None
        and at >= since
    ]
    scores = [
        (s.answered_at.date(), float(s.score))
        for s in surveys
        if s.answered_at and s.score is not None
    ]
    remedies: dict[str, int] = {}
    for g in granted:
        for r in g.remedy_ids:
            remedies[r] = remedies.get(r, 0) + 1
    levels = {n: sum(1 for c in period if c.solved_at and c.service_level == n) for n in (1, 2, 3)}
    return {
        "volume": _by_day([(c.created_at.date(), 1.0) for c in period], days, sum),
        "first_reply_hours": _by_day(replies, days, _median),
        "resolution_hours": _by_day(solves, days, _median),
        "median_first_reply_hours": _median([h for _, h in replies]),
        "median_resolution_hours": _median([h for _, h in solves]),
        "cases": len(period),
        "replied": len(replies),
        "solved": len(solves),
        "service_levels": levels,
        "grant_cost": sum((g.cost for g in granted), Decimal(0)),
        "granted": remedies,
        "sla_met_share": sum(ok for _, ok in decided) / len(decided),
        "sla_by_day": _by_day([(d, float(ok)) for d, ok in decided], days, _share),
        "satisfaction_average": round(statistics.mean(v for _, v in scores), 2),
        "satisfaction_by_day": _by_day(scores, days, lambda v: round(statistics.mean(v), 2)),
    }


def test_the_dashboard_figures_are_those_of_every_record_of_the_period(
    container: Container,
) -> None:
    load_demo_store(container, seed=7, customers=25, **ADMIN)
    board = console.dashboard(container.uow.read_only(), SYSTEM, container.clock.now(), DAYS)
    days = [d.day for d in board.volume]
    expected = _expected(container, board.since, days)

    assert min(expected["replied"], expected["solved"]) >= 10 and expected["granted"]
    for name in (
        "volume", "first_reply_hours", "resolution_hours", "median_first_reply_hours",
        "median_resolution_hours", "cases", "replied", "solved", "service_levels", "grant_cost",
        "sla_met_share", "satisfaction_average",
    ):  # fmt: skip
        assert getattr(board, name) == expected[name], name
    assert {r: n for r, n, _ in board.grants_by_remedy if n} == expected["granted"]
    series = list(board.extra_series.values())
    assert series == [expected["sla_by_day"], expected["satisfaction_by_day"]]


@pytest.mark.postgres_only
def test_the_dashboard_reads_a_few_rows_a_day_however_many_cases(container: Container) -> None:
    load_demo_store(container, seed=7, customers=0, **ADMIN)
    now = container.clock.now()
    with container.uow.read_only() as uow:
        customer_id = uow.cases.find(CaseFilter(), 1, None).items[0].customer_id
    opened = now - timedelta(hours=2)
    many = [
        {
            "subject": f"Question {n}", "customer_id": customer_id, "status": "solved",
            "priority": "normal", "channel": "email", "order_ids": [], "custom_fields": {},
            "created_at": opened, "updated_at": now, "solved_at": now - timedelta(minutes=n),
            "service_level": 1 + n % 3, "version": 1,
        }
        for n in range(600)
    ]  # fmt: skip
    with container.engine.begin() as conn:
        conn.execute(insert(m.CaseRow), many)
    rows: list[int] = []

    def fetched(_conn: Any, cursor: Any, *_args: Any) -> None:
        rows.append(cursor.rowcount)  # on PostgreSQL, the rows a SELECT brought back

    event.listen(container.engine, "after_cursor_execute", fetched)
    try:
        board = console.dashboard(container.uow.read_only(), SYSTEM, now, days=7)
    finally:
        event.remove(container.engine, "after_cursor_execute", fetched)

    assert board.cases >= 600 and board.service_levels[1] >= 200
    assert sum(rows) < 100, rows
