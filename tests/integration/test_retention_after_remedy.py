"""Retention after a remedy on a small hand-made history whose answers are worked out below:
customers whose case was solved with a refund, with a replacement, or with no remedy, and the
orders they placed afterwards at known days."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from caredesk.adapters.db import models as m
from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Actor, Role
from caredesk.domain.errors import DomainError, ValidationFailed
from caredesk.domain.orders import Order, OrderStatus
from caredesk.domain.remedy_returns import wilson
from caredesk.services.reports.retention import NO_REMEDY, retention
from tests import factories as f
from tests.integration.demo_store import load_demo_store
from tests.integration.statements import statements_sent
from tests.integration.test_console_pages import LEAD, VIEWER, load_console_store, sign_in

DAMAGED, LATE = "damaged", "late_delivery"


class _History:
    """Customers, their cases (solved `solved` days ago, opened a day before), the grants on
    them and the orders placed before and after."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.records: list[Any] = []
        self.cases: list[dict[str, Any]] = []
        self.triage: list[dict[str, Any]] = []
        self.grants: list[dict[str, Any]] = []
        self.entries: list[dict[str, Any]] = []

    def customer(self, cid: str, prior: str) -> None:
        self.records.append(f.customer(cid, self.now, customer_for=timedelta(days=400)))
        self.buy(cid, f"{cid}-old", timedelta(days=200), prior)

    def buy(self, cid: str, oid: str, ago: timedelta, price: str, **extra: Any) -> Order:
        order = f.order(oid, cid, self.now, f.line("v1", "p1", "Kettle", price), placed=ago)
        order.status = extra.get("status", order.status)
        order.details = extra.get("details", {})
        self.records.append(order)
        return order

    def case(self, cid: str, solved: float, issue: str, level: int = 1) -> tuple[int, datetime]:
        case_id = 1000 + len(self.cases)
        solved_at = self.now - timedelta(days=solved)
        self.cases.append(
            {
                "id": case_id, "subject": "Help", "customer_id": cid, "status": "solved",
                "priority": "normal", "channel": "email", "order_ids": [],
                "custom_fields": {}, "created_at": solved_at - timedelta(days=1),
                "updated_at": solved_at, "solved_at": solved_at, "service_level": level,
                "version": 1,
            }
        )  # fmt: skip
        self.triage.append(
            {
                "case_id": case_id, "intent": issue, "intent_confidence": 0.9,
                "intent_source": "model", "sentiment": 0.0, "public_risk": False,
                "public_risk_confidence": 0.0, "risk_signals": [], "moments": [],
                "known_issues": [], "language": "en", "rules": [], "suggestions": [],
                "triaged_at": solved_at,
            }
        )  # fmt: skip
        return case_id, solved_at

    def grant(
        self, case_id: int, cid: str, remedies: dict[str, str], level: int, **kw: Any
    ) -> None:
        grant_id = 500 + len(self.grants)
        at = self.now - timedelta(days=101)
        self.grants.append(
            {
                "id": grant_id, "case_id": case_id, "customer_id": cid,
                "remedy_ids": list(remedies), "params": {}, "status": kw.get("status", "executed"),
                "cost": sum((Decimal(c) for c in remedies.values()), Decimal(0)),
                "refunded": Decimal(0), "policy_version": "v1", "service_level": level,
                "rules": [], "summary": "", "actor": "agent:1", "fingerprint": f"g{grant_id}",
                "created_at": at, "executed_at": at, "bases": [],
            }
        )  # fmt: skip
        for remedy, cost in remedies.items():
            account = "refunds" if remedy == "refund" else f"goodwill:{remedy}"
            for amount, where in ((Decimal(cost), account), (-Decimal(cost), "payable:card")):
                self.entries.append(
                    {
                        "grant_id": grant_id, "account": where, "amount": amount,
                        "memo": remedy, "created_at": at, "remedy_id": remedy,
                    }
                )  # fmt: skip

    def write(self, container: Container) -> None:
        f.store(container, *self.records)
        with container.engine.begin() as conn:
            conn.execute(insert(m.CaseRow), self.cases)
            conn.execute(insert(m.CaseTriageRow), self.triage)
            conn.execute(insert(m.GrantRow), self.grants)
            conn.execute(insert(m.LedgerEntryRow), self.entries)


def _history(now: datetime) -> _History:
    h = _History(now)
    # Refund: 20 damaged, low-value customers solved 100 days ago at service level 2 (25 each):
    # 6 back on day 10 (50 each), 4 on day 45 (80), 2 on day 85 (100), 8 never.
    for i in range(20):
        cid = f"refund{i}"
        h.customer(cid, "100.00")
        case_id, solved_at = h.case(cid, 100, DAMAGED, level=2)
        h.grant(case_id, cid, {"refund": "25.00"}, 2)
        day, price = (10, "50.00") if i < 6 else (45, "80.00") if i < 10 else (85, "100.00")
        if i < 12:
            h.buy(cid, f"{cid}-again", now - solved_at - timedelta(days=day), price)
    # Two more refunds solved 40 days ago (the 60 and 90 days have not elapsed), one of them
    # reversed later (it still was granted): one customer back on day 20 for 30.
    for i in (20, 21):
        cid = f"refund{i}"
        h.customer(cid, "100.00")
        case_id, _ = h.case(cid, 40, DAMAGED, level=2)
        h.grant(case_id, cid, {"refund": "25.00"}, 2, status="executed" if i == 20 else "reversed")
    h.buy("refund20", "refund20-again", timedelta(days=20), "30.00")
    # No remedy, damaged and low value: 40 solved 100 days ago, 10 back on day 10 (40 each); one
    # more orders on day 5 and cancels (no purchase). One of them has a second case solved
    # later with a refund: a customer counts once, at their first case.
    for i in range(40):
        cid = f"plain{i}"
        h.customer(cid, "100.00")
        h.case(cid, 100, DAMAGED)
        if i < 10:
            h.buy(cid, f"{cid}-again", timedelta(days=90), "40.00")
    h.buy("plain5", "plain5-cancelled", timedelta(days=95), "70.00", status=OrderStatus.CANCELLED)
    second, _ = h.case("plain6", 50, DAMAGED, level=2)
    h.grant(second, "plain6", {"refund": "25.00"}, 2)
    # No remedy, late and 500 to 1,500 spent before: 10 solved 100 days ago, 8 back on day 20.
    for i in range(10):
        cid = f"late{i}"
        h.customer(cid, "600.00")
        h.case(cid, 100, LATE)
        if i < 8:
            h.buy(cid, f"{cid}-again", timedelta(days=80), "60.00")
    # Replacement with a note, late and 500 to 1,500: 3 solved 100 days ago at level 3, each
    # shipped a replacement order on day 1 (no purchase); one back on day 29 for 200.
    for i in range(3):
        cid = f"swap{i}"
        h.customer(cid, "600.00")
        case_id, _ = h.case(cid, 100, LATE, level=3)
        h.grant(case_id, cid, {"replacement": "40.00", "note": "0.00"}, 3)
        details = {"replacement_for": f"{cid}-old", "remedy": "replacement"}
        h.buy(cid, f"{cid}-R1", timedelta(days=99), "0.00", details=details)
    h.buy("swap0", "swap0-again", timedelta(days=71), "200.00")
    # Outside the period (solved 200 days ago) and not solved at all: neither counts.
    h.customer("old", "100.00")
    h.case("old", 200, DAMAGED)
    return h


def _report(container: Container, actor: Actor = SYSTEM) -> Any:
    now = container.clock.now()
    _history(now).write(container)
    start, end = now - timedelta(days=120), now
    return retention(container.uow.read_only(), actor, now, start, end)


def test_the_shares_spend_and_cost_of_each_remedy_are_those_of_the_history(
    container: Container,
) -> None:
    report = _report(container)

    refund30, refund60, refund90 = (report.figure("refund", w) for w in (30, 60, 90))
    assert (refund30.customers, refund30.share.n, refund30.share.k) == (22, 22, 7)
    assert (refund30.spend, refund30.cost) == (Decimal("330.00"), Decimal("550.00"))
    assert (refund60.share.n, refund60.share.k, refund60.not_yet) == (20, 10, 2)
    assert (refund60.spend, refund60.cost) == (Decimal("620.00"), Decimal("500.00"))
    assert (refund90.share.n, refund90.share.k, refund90.spend) == (20, 12, Decimal("820.00"))
    assert refund90.return_per_cost == Decimal("1.64")
    assert refund90.spend_per_customer == Decimal("41.00")
    assert refund90.share == wilson(12, 20) and not refund90.too_small
    # Every refund was at service level 2: that level's row is the same customers.
    assert report.figure("refund", 90, 2).share == refund90.share

    plain = report.figure(NO_REMEDY, 30)
    assert (plain.share.n, plain.share.k, plain.spend, plain.cost) == (
        50, 18, Decimal("880.00"), Decimal("0.00")
    )  # fmt: skip
    assert plain.comparison is None and plain.return_per_cost is None

    # A bundle's case counts under each remedy, each with the cost it posted.
    swap, note = report.figure("replacement", 30), report.figure("note", 30)
    assert (swap.share.n, swap.share.k, swap.spend, swap.cost) == (
        3, 1, Decimal("200.00"), Decimal("120.00")
    )  # fmt: skip
    assert (note.share.n, note.share.k, note.cost, note.return_per_cost) == (
        3, 1, Decimal("0.00"), None
    )  # fmt: skip
    assert swap.too_small and swap.return_per_cost == Decimal("1.67")
    assert [f.service_level for f in report.figures if f.remedy == "replacement"] == [
        None, 3, None, 3, None, 3
    ]  # fmt: skip


def test_each_remedy_is_compared_with_no_remedy_customers_of_its_issue_and_value_band(
    container: Container,
) -> None:
    report = _report(container)

    # The refunds were all damaged and low value: against the 10 of 40 such plain customers,
    # not the 8 of 10 late, high-value ones.
    refund = report.figure("refund", 90).comparison
    assert refund is not None and (refund.covered, refund.comparable) == (20, 40)
    assert refund.remedy_share == pytest.approx(0.6)
    assert refund.comparable_share == pytest.approx(0.25)
    assert refund.value == pytest.approx(0.35)
    # Variances with a success and a failure added: 13/22·9/22/22 + 11/42·31/42/42.
    half = 1.959963984540054 * (13 * 9 / 22**3 + 11 * 31 / 42**3) ** 0.5
    assert (refund.low, refund.high) == (pytest.approx(0.35 - half), pytest.approx(0.35 + half))
    assert not refund.too_small  # 20 and 40 customers, an interval 0.49 wide
    swap = report.figure("replacement", 30).comparison
    assert swap is not None and (swap.covered, swap.comparable) == (3, 10)
    assert swap.value == pytest.approx(1 / 3 - 0.8)
    assert swap.too_small


def test_the_database_counts_every_group_in_one_statement(container: Container) -> None:
    now = container.clock.now()
    _history(now).write(container)
    with statements_sent(container.engine) as sent:
        retention(container.uow.read_only(), SYSTEM, now, now - timedelta(days=120), now)
    reads = [s for s in sent if "order_lines" in s]
    # Cases, triage, orders, grants and ledger entries in one grouped statement; the rest is
    # the policy's currency.
    assert len(reads) == 1 and "GROUP BY" in reads[0] and "ledger_entries" in reads[0]
    assert len([s for s in sent if s != "BEGIN"]) <= 4, sent


def test_the_report_is_for_leads_and_checks_its_period(container: Container) -> None:
    now = container.clock.now()
    agent = Actor(role=Role.AGENT, agent_id=9)
    with pytest.raises(DomainError):
        retention(container.uow.read_only(), agent, now, now - timedelta(days=30), now)
    with pytest.raises(ValidationFailed):
        retention(container.uow.read_only(), SYSTEM, now, now, now - timedelta(days=1))
    with pytest.raises(ValidationFailed):
        retention(container.uow.read_only(), SYSTEM, now, now - timedelta(days=400), now)
    with pytest.raises(ValidationFailed):
        retention(container.uow.read_only(), SYSTEM, now, now - timedelta(days=9), now, (0,))
    empty = retention(container.uow.read_only(), SYSTEM, now, now - timedelta(days=9), now)
    assert empty.empty


def test_the_demo_history_shows_each_remedy_s_return_per_cost_with_its_interval(
    container: Container,
) -> None:
    load_demo_store(
        container,
        seed=7,
        customers=25,
        admin_email="admin@caredesk.example",
        admin_password="demo-password-1",
    )
    now = container.clock.now()
    report = retention(container.uow.read_only(), SYSTEM, now, now - timedelta(days=90), now)
    remedies = {f.remedy for f in report.by_remedy(30)} - {NO_REMEDY}
    assert remedies and NO_REMEDY in {f.remedy for f in report.by_remedy(30)}
    for figure in report.by_remedy(30):
        assert figure.share.n > 0 and figure.share.low is not None
        if figure.remedy != NO_REMEDY and figure.cost > 0:
            assert figure.return_per_cost is not None
    assert any(f.share.k > 0 for f in report.by_remedy(30) if f.remedy != NO_REMEDY)
    assert any(f.share.k > 0 for f in report.by_remedy(30) if f.remedy == NO_REMEDY)


@pytest.fixture
def store(container: Container) -> Container:
    load_console_store(container)
    _history(container.clock.now()).write(container)
    return container


def test_the_page_shows_each_remedy_s_figures_and_says_when_a_group_is_too_small(
    app_client: TestClient, store: Container
) -> None:
    now = store.clock.now()
    period = f"start={(now - timedelta(days=120)).date()}&end={now.date()}"
    sign_in(app_client, LEAD)
    page = app_client.get(f"/reports/retention?{period}&window=90")
    assert page.status_code == 200, page.text
    refund = _row(page.text, "by-remedy", "refund")
    # 12 of 20, Wilson 39 to 78 %; 820 spent for 500 of refunds; 35 points above comparables.
    assert "60 %" in refund and "39–78 %" in refund and "1.64" in refund
    assert "+35 points" in refund and "40 comparable" in refund
    assert "too few customers to say" in _row(page.text, "by-remedy", "replacement")
    assert 'aria-current="page">90 days' in page.text and "<svg" in page.text
    assert "too small to say anything yet" not in page.text
    assert "(+2 not yet 90 days)" in refund
    assert "refund · level 2" in page.text

    recent = app_client.get(f"/reports/retention?start={(now - timedelta(days=60)).date()}")
    assert "too small to say anything yet" in recent.text and "<svg" not in recent.text
    bad = app_client.get(f"/reports/retention?{period}&window=45")
    assert bad.status_code == 422
    inverted = app_client.get(f"/reports/retention?start={now.date()}&end=2020-01-01")
    assert inverted.status_code == 422 and "Traceback" not in inverted.text
    sign_in(app_client, VIEWER)
    assert app_client.get(f"/reports/retention?{period}").status_code == 403


def test_the_dashboard_links_to_the_retention_report(
    app_client: TestClient, store: Container
) -> None:
    sign_in(app_client, LEAD)
    assert 'href="/reports/retention"' in app_client.get("/reports").text


def _row(html: str, table: str, remedy: str) -> str:
    """The row of one remedy in one of the page's tables."""
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return next(r for r in body.split("<tr>") if f'<th scope="row">{remedy}' in r)
