"""The case lifecycle through the HTTP API on a real database: escalation with handoff,
repeat asks, commitments, proactive cases, reopen, merge, split and undo."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from caredesk import demo
from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Role, Team
from caredesk.domain.cases import CaseStatus
from caredesk.domain.customers import Address
from caredesk.domain.orders import (
    Order,
    OrderLine,
    OrderStatus,
    PaymentTransaction,
    Shipment,
    TransactionType,
)
from caredesk.services.access import auth
from caredesk.services.lifecycle import lifecycle
from tests.conftest import ManualClock
from tests.integration.conftest import CUSTOMER, Headers
from tests.reading import all_cases

NewCase = Callable[..., dict[str, Any]]


def _team(container: Container, name: str) -> int:
    with container.uow() as uow:
        team = Team(id=None, name=name)
        uow.teams.add(team)
        uow.commit()
    assert team.id is not None
    return team.id


def _agent(container: Container, email: str, role: Role) -> int:
    agent = auth.create_agent(
        container.uow(), SYSTEM, container.hasher, container.clock.now(),
        email=email, name=email.split("@")[0].title(), role=role, password=None,
    )  # fmt: skip
    assert agent.id is not None
    return agent.id


def _order(
    container: Container, customer_id: str, order_id: str = "#W1001", **shipment: Any
) -> str:
    now = container.clock.now()
    order = Order(
        id=order_id,
        customer_id=customer_id,
        status=shipment.pop("status", OrderStatus.DELIVERED),
        address=Address(address1="1 Analytical Way", city="London", country="UK"),
        lines=[OrderLine("v-lamp", "p-lamp", "Desk lamp", Decimal("40.00"))],
        shipments=[Shipment(tracking_ids=["TRK1"], variant_ids=["v-lamp"], **shipment)],
        payments=[PaymentTransaction(TransactionType.PAYMENT, Decimal("40.00"), "card", now)],
        placed_at=now - timedelta(days=20),
    )
    with container.uow() as uow:
        uow.orders.add(order)
        uow.commit()
    return order_id


def _reply(client: TestClient, headers: Headers, case_id: int, body: str, kind: str = "outbound"):
    response = client.post(
        f"/api/v1/cases/{case_id}/messages", json={"kind": kind, "body": body}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


# --- escalation ---------------------------------------------------------------------------


def test_escalation_carries_the_story_to_a_lead(
    client: TestClient,
    container: Container,
    agent: Headers,
    customer: dict[str, Any],
    new_case: NewCase,
) -> None:
    team_id = _team(container, "Tier 2")
    lead_id = _agent(container, "lead@example.com", Role.LEAD)
    order_id = _order(container, customer["id"])
    case = new_case(body="My lamp flickers.", order_ids=[order_id])
    client.post(
        f"/api/v1/cases/{case['id']}/notes", json={"body": "Asked to try another bulb."},
        headers=agent,
    )  # fmt: skip

    draft = client.get(
        f"/api/v1/cases/{case['id']}/handoff-draft",
        params={"open_question": "Replace or refund?"},
        headers=agent,
    ).json()
    assert "#W1001 (delivered)" in draft["summary"]
    assert "Desk lamp" in draft["summary"]

    response = client.post(
        f"/api/v1/cases/{case['id']}/escalations",
        json={"team_id": team_id, "lead_id": lead_id, "open_question": "Replace or refund?"},
        headers=agent,
    )
    assert response.status_code == 201, response.text
    handoff = response.json()
    assert handoff["drafted"] is True
    assert handoff["summary"] == draft["summary"]

    handoffs = client.get(f"/api/v1/cases/{case['id']}/handoffs", headers=agent).json()
    assert [h["id"] for h in handoffs] == [handoff["id"]]
    received = handoffs[0]
    assert received["open_question"] == "Replace or refund?"
    # A second escalation's facts hold what people tried, not the desk's own notes.
    again = client.get(f"/api/v1/cases/{case['id']}/handoff-draft", headers=agent).json()
    assert again["facts"]["tried"] == ["Asked to try another bulb."]
    assert received["facts"]["orders"] == [{"id": "#W1001", "status": "delivered"}]
    assert received["facts"]["tried"] == ["Asked to try another bulb."]
    fetched = client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()
    assert (fetched["assignee_id"], fetched["team_id"]) == (lead_id, team_id)
    actions = [e["action"] for e in client.get(
        f"/api/v1/cases/{case['id']}/audit", headers=agent
    ).json()]  # fmt: skip
    assert "case.escalated" in actions


def test_escalation_with_a_written_summary_and_bad_targets(
    client: TestClient, container: Container, agent: Headers, new_case: NewCase
) -> None:
    plain_agent = _agent(container, "agent2@example.com", Role.AGENT)
    case = new_case(body="Where is my order?")
    url = f"/api/v1/cases/{case['id']}/escalations"

    nowhere = client.post(url, json={"summary": "x"}, headers=agent)
    assert nowhere.status_code == 422
    not_a_lead = client.post(url, json={"lead_id": plain_agent}, headers=agent)
    assert not_a_lead.status_code == 422
    assert not_a_lead.json()["code"] == "validation_error"
    unknown_team = client.post(url, json={"team_id": 999}, headers=agent)
    assert unknown_team.status_code == 404
    assert client.get(f"/api/v1/cases/{case['id']}/handoffs", headers=agent).json() == []

    team_id = _team(container, "Billing")
    written = client.post(
        url, json={"team_id": team_id, "summary": "Carrier lost it; reship?"}, headers=agent
    )
    assert written.status_code == 201
    assert written.json()["drafted"] is False
    assert written.json()["summary"] == "Carrier lost it; reship?"


# --- repeat asks --------------------------------------------------------------------------


def test_repeat_asks_are_counted_per_case_and_per_agent(
    client: TestClient,
    container: Container,
    token_for: Callable[..., Headers],
    customer: dict[str, Any],
    new_case: NewCase,
) -> None:
    agent_id = _agent(container, "asker@example.com", Role.AGENT)
    asker = token_for(Role.AGENT, agent_id)
    order_id = _order(container, customer["id"])
    case = new_case(body="Broken on arrival.", order_ids=[order_id])

    _reply(client, asker, case["id"], "Sorry! Could you send me your order number?")
    # No photo was attached, so asking for one is fair; the address is on file, so not.
    _reply(client, asker, case["id"], "Please share a photo and confirm your shipping address.")

    report = client.get(f"/api/v1/cases/{case['id']}/repeat-asks", headers=asker).json()
    assert report["total"] == 2
    assert report["by_kind"] == {"address": 1, "order_number": 1}
    by_agent = client.get("/api/v1/repeat-asks", params={"by": "agent"}, headers=asker).json()
    assert by_agent == [{"key": agent_id, "total": 2, "by_kind": {"address": 1, "order_number": 1}}]
    by_case = client.get("/api/v1/repeat-asks", params={"by": "case"}, headers=asker).json()
    assert by_case[0]["key"] == case["id"]


# --- commitments --------------------------------------------------------------------------


def test_commitment_detected_in_a_reply_alerts_then_is_missed_and_reopens(
    client: TestClient,
    container: Container,
    clock: ManualClock,
    token_for: Callable[..., Headers],
    admin: Headers,
    new_case: NewCase,
) -> None:
    owner_id = _agent(container, "owner@example.com", Role.AGENT)
    owner = token_for(Role.AGENT, owner_id)
    case = new_case(body="Please call me.")
    # The test clock starts on Monday 2 March 2026, 09:00 UTC; the desk runs on UTC.
    _reply(client, owner, case["id"], "I'll call you back tomorrow by 5pm.")
    [commitment] = client.get(f"/api/v1/cases/{case['id']}/commitments", headers=owner).json()
    assert commitment["kind"] == "callback"
    assert commitment["source"] == "detected"
    assert commitment["owner_agent_id"] == owner_id
    assert commitment["due_at"].startswith("2026-03-03T17:00:00")

    client.post(f"/api/v1/cases/{case['id']}/status", json={"status": "solved"}, headers=owner)
    options = container.lifecycle
    sweep = lifecycle.sweep_commitments(container.uow, SYSTEM, clock.now(), options)
    assert (sweep.alerted, sweep.missed) == ([], [])

    clock.current = clock.current.replace(day=3, hour=16, minute=30)
    sweep = lifecycle.sweep_commitments(container.uow, SYSTEM, clock.now(), options)
    assert sweep.alerted == [commitment["id"]]
    again = lifecycle.sweep_commitments(container.uow, SYSTEM, clock.now(), options)
    assert again.alerted == []  # an owner is alerted once

    clock.advance(hours=1)
    swept = client.post("/api/v1/commitments/sweep", headers=admin)
    assert swept.json() == {
        "alerted": [], "missed": [commitment["id"]], "reopened": [case["id"]]
    }  # fmt: skip
    fetched = client.get(f"/api/v1/cases/{case['id']}", headers=owner).json()
    assert fetched["status"] == "open"
    notes = [m["body"] for m in fetched["messages"] if m["kind"] == "note"]
    assert any(n.startswith("Commitment due") for n in notes)
    assert any(n.startswith("Commitment missed") for n in notes)
    missed = client.get("/api/v1/commitments/missed", headers=owner).json()
    assert missed == {"total": 1, "by_case": {str(case["id"]): 1}, "by_owner": {str(owner_id): 1}}


def test_manual_commitment_kept_and_refused_inputs(
    client: TestClient, agent: Headers, clock: ManualClock, new_case: NewCase
) -> None:
    case = new_case(body="Refund please.")
    url = f"/api/v1/cases/{case['id']}/commitments"
    due = (clock.now() + timedelta(days=5)).isoformat()
    created = client.post(
        url, json={"kind": "refund", "description": "Refund within 5 days", "due_at": due},
        headers=agent,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    commitment_id = created.json()["id"]

    past = (clock.now() - timedelta(hours=1)).isoformat()
    assert client.post(
        url, json={"kind": "refund", "description": "x", "due_at": past}, headers=agent
    ).status_code == 422  # fmt: skip
    naive = client.post(
        url, json={"kind": "refund", "description": "x", "due_at": "2026-03-09T10:00:00"},
        headers=agent,
    )  # fmt: skip
    assert naive.status_code == 422

    unknown = client.post(
        url, json={"kind": "sometime", "description": "x", "due_at": due}, headers=agent
    )
    assert unknown.status_code == 422
    kept = client.post(
        f"/api/v1/commitments/{commitment_id}/resolve", json={"status": "kept"}, headers=agent
    )
    assert kept.json()["status"] == "kept"
    twice = client.post(
        f"/api/v1/commitments/{commitment_id}/resolve", json={"status": "cancelled"},
        headers=agent,
    )  # fmt: skip
    assert twice.status_code == 409
    listed = client.get("/api/v1/commitments", params={"status": "kept"}, headers=agent).json()
    assert [c["id"] for c in listed] == [commitment_id]

    for status in ("solved", "closed"):
        client.post(f"/api/v1/cases/{case['id']}/status", json={"status": status}, headers=agent)
    on_closed = client.post(
        url, json={"kind": "reply", "description": "x", "due_at": due}, headers=agent
    )
    assert on_closed.status_code == 409
    assert on_closed.json()["code"] == "invalid_transition"


# --- proactive cases ----------------------------------------------------------------------


def test_proactive_scan_opens_one_case_per_finding_and_tells_the_customer(
    client: TestClient,
    container: Container,
    clock: ManualClock,
    admin: Headers,
    customer: dict[str, Any],
) -> None:
    late = _order(
        container, customer["id"], "#W2001", status=OrderStatus.SHIPPED,
        shipped_at=clock.now() - timedelta(days=3), promised_date=date(2026, 2, 27),
    )  # fmt: skip
    _order(container, customer["id"], "#W2002")  # delivered: nothing to find

    first = client.post("/api/v1/proactive/scan", headers=admin)
    assert first.status_code == 200, first.text
    report = first.json()
    assert report["found"] == 1
    [case_id] = report["opened"]
    assert report["errors"] == []
    second = client.post("/api/v1/proactive/scan", headers=admin).json()
    assert (second["opened"], second["already_known"]) == ([], 1)

    case = client.get(f"/api/v1/cases/{case_id}", headers=admin).json()
    assert case["channel"] == "proactive"
    assert case["order_ids"] == [late]
    assert "proactive" in case["tags"]
    kinds = [m["kind"] for m in case["messages"]]
    assert "outbound" in kinds  # the customer hears first, by mail through the queue
    queued = client.get("/api/v1/jobs", headers=admin).json()["items"]
    assert [j["kind"] for j in queued] == ["mail.send"]
    [finding] = client.get("/api/v1/proactive/findings", headers=admin).json()
    assert finding["key"] == "late_delivery:#W2001:0"
    assert finding["case_id"] == case_id
    assert finding["recommendation"] is not None
    assert finding["recommendation"]["policy_version"]


def test_proactive_scan_leaves_alone_an_order_the_customer_already_wrote_about(
    client: TestClient,
    container: Container,
    clock: ManualClock,
    admin: Headers,
    agent: Headers,
    customer: dict[str, Any],
) -> None:
    late = _order(
        container, customer["id"], "#W2001", status=OrderStatus.SHIPPED,
        shipped_at=clock.now() - timedelta(days=3), promised_date=date(2026, 2, 27),
    )  # fmt: skip

    def customer_case(issue_type: str) -> dict[str, Any]:
        response = client.post(
            "/api/v1/cases",
            json={
                "customer_id": customer["id"], "subject": "My order", "body": "Where is it?",
                "order_ids": [late], "custom_fields": {"issue_type": issue_type},
            },
            headers=agent,
        )  # fmt: skip
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    customer_case("billing")  # the same order, another matter: it covers nothing
    asked = customer_case("late_delivery")

    report = client.post("/api/v1/proactive/scan", headers=admin).json()
    assert (report["found"], report["opened"], report["already_known"]) == (1, [], 1)
    assert report["errors"] == []
    proactive = client.get("/api/v1/cases", params={"tag": "proactive"}, headers=admin).json()
    assert proactive["items"] == []
    assert client.get("/api/v1/jobs", headers=admin).json()["items"] == []  # nothing mailed
    assert client.get("/api/v1/proactive/findings", headers=admin).json() == []

    # Once the customer's case is solved, a delivery still late is the desk's to raise.
    solved = client.post(
        f"/api/v1/cases/{asked['id']}/status", json={"status": "solved"}, headers=agent
    )
    assert solved.status_code == 200, solved.text
    later = client.post("/api/v1/proactive/scan", headers=admin).json()
    assert len(later["opened"]) == 1


def test_the_demo_opens_no_proactive_case_beside_an_open_case_about_the_same_thing(
    container: Container,
) -> None:
    """On the demo's first start the scan found three orders whose customers had an open
    case about them already (two seed stories, one everyday case) and wrote to them again."""
    now = container.clock.now()
    demo.load_demo(
        container.uow, container.hasher, now, seed=container.settings.demo_seed,
        customers=demo.DEFAULT_CUSTOMERS, admin_email="admin@caredesk.example",
        admin_password="demo-password-1",
    )  # fmt: skip
    with container.uow() as uow:
        before = all_cases(uow)
    report = lifecycle.proactive_scan(container.uow, SYSTEM, now, container.lifecycle)
    assert report.errors == []
    assert report.opened, "the demo has findings of its own to open"
    with container.uow() as uow:
        findings = uow.lifecycle.findings(500)
        opened = [c for c in all_cases(uow) if c.id in report.opened]
    live = [c for c in before if c.status not in (CaseStatus.SOLVED, CaseStatus.CLOSED)]
    for case in opened:
        twins = [
            c.id
            for c in live
            if c.customer_id == case.customer_id
            and set(c.order_ids) & set(case.order_ids)
            and c.custom_fields.get("issue_type") == case.custom_fields.get("issue_type")
        ]
        assert twins == [], f"proactive case {case.id} repeats case {twins}"
    assert report.already_known == 3
    assert report.found == len(report.opened) + report.already_known
    for story in ("label-printer", "missed-date"):
        [case] = [c for c in before if f"story:{story}" in c.tags]
        assert not any(
            f.customer_id == case.customer_id and f.order_id in case.order_ids for f in findings
        ), story


def test_proactive_scan_needs_a_lead(client: TestClient, agent: Headers) -> None:
    assert client.post("/api/v1/proactive/scan", headers=agent).status_code == 403


# --- reopen or follow up ------------------------------------------------------------------


def test_reply_within_grace_reopens_and_later_opens_a_linked_case(
    client: TestClient, agent: Headers, clock: ManualClock, new_case: NewCase
) -> None:
    case = new_case(body="It broke.")
    status_url = f"/api/v1/cases/{case['id']}/status"
    client.post(status_url, json={"status": "solved"}, headers=agent)
    clock.advance(days=2)
    reply = _reply(client, agent, case["id"], "Broke again.", kind="inbound")
    assert reply["case_id"] == case["id"]
    assert client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()["status"] == "open"

    client.post(status_url, json={"status": "solved"}, headers=agent)
    clock.advance(days=8)
    late = _reply(client, agent, case["id"], "And again, weeks later.", kind="inbound")
    assert late["case_id"] != case["id"]
    old = client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()
    assert old["status"] == "solved"
    follow_up = client.get(f"/api/v1/cases/{late['case_id']}", headers=agent).json()
    assert follow_up["custom_fields"]["follow_up_of"] == case["id"]
    [link] = client.get(f"/api/v1/cases/{case['id']}/links", headers=agent).json()
    assert (link["kind"], link["case_id"]) == ("follow_up_of", late["case_id"])


# --- merge and split ----------------------------------------------------------------------


def test_merge_moves_the_story_and_unmerge_puts_it_back(
    client: TestClient, agent: Headers, new_case: NewCase
) -> None:
    target = new_case(body="First mail.")
    source = new_case(body="Same problem, second mail.", tags=["dup"])
    client.post(f"/api/v1/cases/{source['id']}/notes", json={"body": "n"}, headers=agent)

    merged = client.post(
        f"/api/v1/cases/{target['id']}/merge",
        json={"source_case_ids": [source["id"]]},
        headers=agent,
    )
    assert merged.status_code == 200, merged.text
    [link] = merged.json()["links"]
    assert "dup" in merged.json()["case"]["tags"]
    target_view = client.get(f"/api/v1/cases/{target['id']}", headers=agent).json()
    assert [m["body"] for m in target_view["messages"]] == [
        "First mail.", "Same problem, second mail.", "n"
    ]  # fmt: skip
    source_view = client.get(f"/api/v1/cases/{source['id']}", headers=agent).json()
    assert source_view["status"] == "closed"
    assert source_view["custom_fields"]["merged_into"] == target["id"]
    assert source_view["messages"] == []
    trail = client.get(f"/api/v1/cases/{target['id']}/trail", headers=agent).json()
    assert {e["case_id"] for e in trail} == {target["id"], source["id"]}

    # A customer writing to the merged-away case lands on the live one.
    routed = _reply(client, agent, source["id"], "Any news?", kind="inbound")
    assert routed["case_id"] == target["id"]

    undone = client.post(f"/api/v1/case-links/{link['id']}/undo", headers=agent)
    assert undone.status_code == 200, undone.text
    source_view = client.get(f"/api/v1/cases/{source['id']}", headers=agent).json()
    assert source_view["status"] == "new"
    assert "merged_into" not in source_view["custom_fields"]
    assert [m["body"] for m in source_view["messages"]] == ["Same problem, second mail.", "n"]
    again = client.post(f"/api/v1/case-links/{link['id']}/undo", headers=agent)
    assert again.status_code == 409
    assert again.json()["code"] == "already_undone"


def test_merge_across_customers_is_refused_unless_an_admin_forces_it(
    client: TestClient, agent: Headers, admin: Headers, new_case: NewCase
) -> None:
    other = client.post(
        "/api/v1/customers", json={**CUSTOMER, "emails": ["bob@example.com"]}, headers=admin
    ).json()
    mine = new_case(body="Mine.")
    theirs = client.post(
        "/api/v1/cases",
        json={"customer_id": other["id"], "subject": "Theirs", "body": "Theirs."},
        headers=agent,
    ).json()
    url = f"/api/v1/cases/{mine['id']}/merge"

    refused = client.post(url, json={"source_case_ids": [theirs["id"]]}, headers=agent)
    assert refused.status_code == 409
    assert refused.json()["code"] == "different_customers"
    not_admin = client.post(
        url, json={"source_case_ids": [theirs["id"]], "force": True}, headers=agent
    )
    assert not_admin.status_code == 403
    # Nothing changed.
    theirs_view = client.get(f"/api/v1/cases/{theirs['id']}", headers=agent).json()
    assert theirs_view["status"] == "new"
    assert len(theirs_view["messages"]) == 1
    assert client.get(f"/api/v1/cases/{mine['id']}/links", headers=agent).json() == []

    forced = client.post(
        url, json={"source_case_ids": [theirs["id"]], "force": True}, headers=admin
    )
    assert forced.status_code == 200, forced.text


@pytest.mark.parametrize("sources", [["self"], [999999]])
def test_merges_that_cannot_be(
    client: TestClient, agent: Headers, new_case: NewCase, sources: list[Any]
) -> None:
    case = new_case(body="One.")
    ids = [case["id"] if s == "self" else s for s in sources]
    response = client.post(
        f"/api/v1/cases/{case['id']}/merge", json={"source_case_ids": ids}, headers=agent
    )
    assert response.status_code in (404, 422)
    assert response.json()["code"] in ("cannot_merge", "not_found")


def test_split_moves_a_message_to_a_new_case_and_unsplit_merges_it_back(
    client: TestClient, agent: Headers, new_case: NewCase
) -> None:
    case = new_case(body="My printer is broken.")
    second = _reply(client, agent, case["id"], "Also, change my address please.", "inbound")
    split = client.post(
        f"/api/v1/cases/{case['id']}/split",
        json={"message_ids": [second["id"]], "subject": "Address change"},
        headers=agent,
    )
    assert split.status_code == 201, split.text
    new_id = split.json()["case"]["id"]
    assert split.json()["case"]["subject"] == "Address change"
    new_view = client.get(f"/api/v1/cases/{new_id}", headers=agent).json()
    assert [m["id"] for m in new_view["messages"]] == [second["id"]]
    old_view = client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()
    assert [m["body"] for m in old_view["messages"]] == ["My printer is broken."]

    undone = client.post(f"/api/v1/case-links/{split.json()['link']['id']}/undo", headers=agent)
    assert undone.status_code == 200, undone.text
    assert undone.json()["merge_link"]["kind"] == "merged_into"
    old_view = client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()
    assert len(old_view["messages"]) == 2


def test_split_of_the_only_message_is_refused_and_nothing_changes(
    client: TestClient, agent: Headers, new_case: NewCase
) -> None:
    case = new_case(body="Only message.")
    [only] = case["messages"]
    response = client.post(
        f"/api/v1/cases/{case['id']}/split", json={"message_ids": [only["id"]]}, headers=agent
    )
    assert response.status_code == 422
    assert response.json()["code"] == "cannot_split"
    after = client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()
    assert after["version"] == case["version"]
    assert [m["id"] for m in after["messages"]] == [only["id"]]
    assert client.get("/api/v1/cases", headers=agent).json()["items"].__len__() == 1
    foreign = client.post(
        f"/api/v1/cases/{case['id']}/split", json={"message_ids": [424242]}, headers=agent
    )
    assert foreign.json()["code"] == "cannot_split"
