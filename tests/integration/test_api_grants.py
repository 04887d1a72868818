"""The empowerment engine through the API: plan, grant, approve, refuse, reverse."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Role
from caredesk.domain.orders import (
    OrderStatus,
    TransactionType,
)
from caredesk.services.access import auth
from tests import factories
from tests.integration.conftest import Headers

D = Decimal
OWN_PASSWORD = "four-eyes-password"


@pytest.fixture
def store(container: Container) -> None:
    """A first-time buyer who ordered two dresses and received t-shirts."""
    now = container.clock.now()
    factories.store(
        container,
        factories.customer(
            "maya", now, last_name="Hart", gift_card=D("10.00"), email="maya@example.com"
        ),
        factories.product(
            "dress",
            "Girls' dress",
            factories.variant("dress-6", "dress", "24.00", "9.00", size="6"),
            factories.variant("dress-8", "dress", "26.00", "10.00", size="8"),
        ),
        factories.order(
            "W1",
            "maya",
            now,
            factories.line("dress-6", "dress", "Girls' dress", "24.00"),
            factories.line("dress-8", "dress", "Girls' dress", "26.00"),
            tracking="1Z999",
            delivered=timedelta(days=1),
            placed=timedelta(days=6),
        ),
        factories.order(
            "W2",
            "maya",
            now,
            factories.line("dress-8", "dress", "Girls' dress, boutique", "150.00"),
            placed=timedelta(days=3),
        ),
    )


@pytest.fixture
def agent_id(client: TestClient, admin: Headers) -> int:
    response = client.post(
        "/api/v1/agents",
        json={"email": "kim@desk.example", "name": "Kim", "role": "agent"},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    agent_id: int = response.json()["id"]
    return agent_id


@pytest.fixture
def kim(token_for: Callable[..., Headers], agent_id: int) -> Headers:
    return token_for(Role.AGENT, agent_id)


@pytest.fixture
def wrong_items_case(client: TestClient, kim: Headers, store: None) -> dict[str, Any]:
    response = client.post(
        "/api/v1/cases",
        json={
            "customer_id": "maya",
            "subject": "I received t-shirts, not the dresses",
            "body": "First order with you and the wrong items arrived.",
            "order_ids": ["W1"],
            "custom_fields": {"issue_type": "wrong_item"},
        },
        headers=kim,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_plan_offers_ranked_bundles_with_costs_rules_and_authority(
    client: TestClient, kim: Headers, wrong_items_case: dict[str, Any]
) -> None:
    response = client.get(f"/api/v1/cases/{wrong_items_case['id']}/plan", headers=kim)
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["issue_type"] == "wrong_item"
    assert plan["policy_version"] == "default-2026.12"
    assert 1 <= len(plan["offers"]) <= 3
    values = [Decimal(o["expected_value"]) for o in plan["offers"]]
    assert values == sorted(values, reverse=True)
    top = plan["offers"][0]
    assert "keep-item" in [r["id"] for r in top["remedies"]]
    assert "keep.cheaper_than_return" in top["rules"]
    assert top["may_grant"] is True
    assert Decimal(top["cost"]) == sum(Decimal(r["cost"]) for r in top["remedies"])
    assert "moment.life_event" in [r["rule"] for r in plan["ineligible"]["handwritten-note"]]


def test_grant_executes_the_bundle_in_one_transaction(
    client: TestClient, kim: Headers, wrong_items_case: dict[str, Any], container: Container
) -> None:
    case_id = wrong_items_case["id"]
    response = client.post(
        f"/api/v1/cases/{case_id}/grants",
        json={"remedies": ["refund-full", "shipping-credit", "keep-item"]},
        headers={**kim, "Idempotency-Key": "grant-1"},
    )
    assert response.status_code == 201, response.text
    grant = response.json()
    assert grant["status"] == "executed"
    assert Decimal(grant["cost"]) == D("57.95")
    assert grant["policy_version"] == "default-2026.12"
    assert grant["service_level"] == 3
    assert sum(Decimal(e["amount"]) for e in grant["ledger"]) == 0

    with container.uow() as uow:
        order = uow.orders.get("W1")
        customer = uow.customers.get("maya")
        assert uow.ledger.trial_balance() == 0
    assert order is not None and customer is not None
    refunds = [p for p in order.payments if p.transaction_type is TransactionType.REFUND]
    assert [(p.amount, p.payment_method_id) for p in refunds] == [(D("50.00"), "card_maya")]
    assert order.details["keep_items"] == ["dress-6", "dress-8"]
    credit = customer.payment_method("store_credit_maya")
    assert credit is not None and credit.balance == D("7.95")

    case = client.get(f"/api/v1/cases/{case_id}", headers=kim).json()
    assert case["messages"][-1]["kind"] == "outbound"
    assert "refunded 50.00" in case["messages"][-1]["body"]
    actions = [
        e["action"] for e in client.get(f"/api/v1/cases/{case_id}/audit", headers=kim).json()
    ]
    assert "grant.executed" in actions and "order.changed" in actions


def test_a_repeated_grant_is_replayed_not_paid_twice(
    client: TestClient, kim: Headers, wrong_items_case: dict[str, Any], container: Container
) -> None:
    url = f"/api/v1/cases/{wrong_items_case['id']}/grants"
    body = {"remedies": ["refund-full", "keep-item"]}
    first = client.post(url, json=body, headers={**kim, "Idempotency-Key": "same"})
    second = client.post(url, json=body, headers={**kim, "Idempotency-Key": "same"})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    other = client.post(
        url, json={"remedies": ["shipping-credit"]}, headers={**kim, "Idempotency-Key": "same"}
    )
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    with container.uow() as uow:
        order = uow.orders.get("W1")
    assert order is not None
    assert sum(1 for p in order.payments if p.transaction_type is TransactionType.REFUND) == 1


def test_ineligible_remedy_is_refused_with_the_rule(
    client: TestClient, kim: Headers, wrong_items_case: dict[str, Any]
) -> None:
    response = client.post(
        f"/api/v1/cases/{wrong_items_case['id']}/grants",
        json={"remedies": ["handwritten-note"]},
        headers=kim,
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "not_eligible"
    assert problem["details"]["rule"] == "moment.life_event"
    assert client.get(f"/api/v1/cases/{wrong_items_case['id']}/grants", headers=kim).json() == []


@pytest.fixture
def big_case(client: TestClient, kim: Headers, store: None) -> dict[str, Any]:
    response = client.post(
        "/api/v1/cases",
        json={
            "customer_id": "maya",
            "subject": "The boutique dress arrived torn",
            "order_ids": ["W2"],
            "custom_fields": {"issue_type": "damaged"},
        },
        headers=kim,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_above_authority_goes_to_a_lead_who_approves_in_one_call(
    client: TestClient,
    kim: Headers,
    token_for: Callable[..., Headers],
    big_case: dict[str, Any],
    container: Container,
) -> None:
    case_id = big_case["id"]
    # A full refund of 150 is over the agent's limit of 100 per grant.
    asked = client.post(
        f"/api/v1/cases/{case_id}/grants", json={"remedies": ["refund-full"]}, headers=kim
    )
    assert asked.status_code == 202, asked.text
    pending = asked.json()
    assert pending["status"] == "pending_approval"
    with container.uow() as uow:
        order = uow.orders.get("W2")
    assert order is not None
    assert len(order.payments) == 1  # nothing moved yet

    agent_try = client.post(
        f"/api/v1/approvals/{pending['approval_id']}/approve", json={}, headers=kim
    )
    assert agent_try.status_code == 403
    lead = token_for(Role.LEAD)
    queue = client.get("/api/v1/approvals", headers=lead).json()
    assert [a["id"] for a in queue] == [pending["approval_id"]]
    assert queue[0]["approver_role"] == "lead"
    assert any("limit per grant" in r for r in queue[0]["reasons"])

    approved = client.post(
        f"/api/v1/approvals/{pending['approval_id']}/approve", json={"note": "ok"}, headers=lead
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "executed"
    again = client.post(
        f"/api/v1/approvals/{pending['approval_id']}/approve", json={}, headers=lead
    )
    assert again.status_code == 409
    assert again.json()["code"] == "approval_decided"
    with container.uow() as uow:
        order = uow.orders.get("W2")
        assert uow.ledger.trial_balance() == 0
    assert order is not None
    assert [p.transaction_type for p in order.payments] == [
        TransactionType.PAYMENT,
        TransactionType.REFUND,
    ]


def test_a_denied_request_moves_nothing(
    client: TestClient,
    kim: Headers,
    token_for: Callable[..., Headers],
    big_case: dict[str, Any],
    container: Container,
) -> None:
    asked = client.post(
        f"/api/v1/cases/{big_case['id']}/grants", json={"remedies": ["refund-full"]}, headers=kim
    ).json()
    lead = token_for(Role.LEAD)
    denied = client.post(f"/api/v1/approvals/{asked['approval_id']}/deny", json={}, headers=lead)
    assert denied.json()["status"] == "denied"
    assert client.get("/api/v1/approvals", headers=lead).json() == []
    with container.uow() as uow:
        order = uow.orders.get("W2")
        assert uow.ledger.trial_balance() == 0
    assert order is not None
    assert len(order.payments) == 1


def test_a_stale_plan_is_refused(
    client: TestClient, kim: Headers, wrong_items_case: dict[str, Any], container: Container
) -> None:
    case_id = wrong_items_case["id"]
    plan = client.get(f"/api/v1/cases/{case_id}/plan", headers=kim).json()
    with container.uow() as uow:
        order = uow.orders.get("W1")
        assert order is not None
        order.status = OrderStatus.RETURN_REQUESTED
        uow.orders.save(order)
        uow.commit()
    response = client.post(
        f"/api/v1/cases/{case_id}/grants",
        json={"remedies": [plan["offers"][0]["remedies"][0]["id"]], "basis": plan["basis"]},
        headers=kim,
    )
    assert response.status_code == 409
    assert response.json()["code"] == "stale_plan"


def test_a_viewer_cannot_grant(
    client: TestClient, viewer: Headers, wrong_items_case: dict[str, Any]
) -> None:
    response = client.post(
        f"/api/v1/cases/{wrong_items_case['id']}/grants",
        json={"remedies": ["shipping-credit"]},
        headers=viewer,
    )
    assert response.status_code == 403


def test_guardrail_limits_grants_per_customer(
    client: TestClient, kim: Headers, store: None, container: Container
) -> None:
    def new_case() -> int:
        response = client.post(
            "/api/v1/cases",
            json={
                "customer_id": "maya",
                "subject": "The parcel was late again",
                "order_ids": ["W1"],
                "custom_fields": {"issue_type": "late_delivery"},
            },
            headers=kim,
        )
        assert response.status_code == 201, response.text
        case_id: int = response.json()["id"]
        return case_id

    for _ in range(6):
        ok = client.post(
            f"/api/v1/cases/{new_case()}/grants",
            json={"remedies": ["shipping-credit"]},
            headers=kim,
        )
        if ok.status_code == 202:
            break
        assert ok.status_code == 201, ok.text
        container.clock.advance(days=1)  # type: ignore[attr-defined]
    refused = client.post(
        f"/api/v1/cases/{new_case()}/grants", json={"remedies": ["shipping-credit"]}, headers=kim
    )
    assert refused.status_code in (409, 422), refused.text
    assert refused.json()["details"]["rule"] in (
        "guardrails.max_grants_per_customer_90d",
        "guardrails.max_refund_ratio",
    )


def test_reversal_is_a_compensating_grant(
    client: TestClient,
    kim: Headers,
    token_for: Callable[..., Headers],
    wrong_items_case: dict[str, Any],
    container: Container,
) -> None:
    granted = client.post(
        f"/api/v1/cases/{wrong_items_case['id']}/grants",
        json={"remedies": ["shipping-credit"]},
        headers=kim,
    ).json()
    lead = token_for(Role.LEAD)
    reversal = client.post(
        f"/api/v1/grants/{granted['id']}/reversal", json={"reason": "duplicate"}, headers=lead
    )
    assert reversal.status_code == 201, reversal.text
    assert reversal.json()["reverses_grant_id"] == granted["id"]
    assert (
        client.get(f"/api/v1/grants/{granted['id']}", headers=lead).json()["status"] == "reversed"
    )
    with container.uow() as uow:
        customer = uow.customers.get("maya")
        assert uow.ledger.trial_balance() == 0
        assert uow.ledger.balance("storecredit:store_credit_maya") == 0
    assert customer is not None
    credit = customer.payment_method("store_credit_maya")
    assert credit is not None and credit.balance == 0


def test_each_resolution_records_its_service_level(
    client: TestClient, kim: Headers, wrong_items_case: dict[str, Any], big_case: dict[str, Any]
) -> None:
    granted = client.post(
        f"/api/v1/cases/{wrong_items_case['id']}/grants",
        json={"remedies": ["refund-full", "keep-item"]},
        headers=kim,
    )
    assert granted.json()["service_level"] == 3
    for case in (wrong_items_case, big_case):
        solved = client.post(
            f"/api/v1/cases/{case['id']}/status", json={"status": "solved"}, headers=kim
        )
        assert solved.status_code == 200, solved.text
    levels = {
        c["id"]: c["service_level"]
        for c in client.get("/api/v1/cases", params={"status": "solved"}, headers=kim).json()[
            "items"
        ]
    }
    assert levels == {wrong_items_case["id"]: 3, big_case["id"]: 1}


def test_a_remedy_worth_nothing_is_neither_offered_nor_granted(
    client: TestClient, kim: Headers, wrong_items_case: dict[str, Any], container: Container
) -> None:
    refunded = client.post(
        f"/api/v1/cases/{wrong_items_case['id']}/grants",
        json={"remedies": ["refund-full", "keep-item"]},
        headers=kim,
    )
    assert refunded.status_code == 201, refunded.text
    # Another case about the same order, whose payment is now refunded in full.
    second = client.post(
        "/api/v1/cases",
        json={
            "customer_id": "maya",
            "subject": "And the box was crushed",
            "order_ids": ["W1"],
            "custom_fields": {"issue_type": "damaged"},
        },
        headers=kim,
    ).json()
    plan = client.get(f"/api/v1/cases/{second['id']}/plan", headers=kim).json()
    offered = [r["id"] for offer in plan["offers"] for r in offer["remedies"]]
    assert "refund-full" not in offered
    assert [r["rule"] for r in plan["ineligible"]["refund-full"]] == ["hard.no_zero_value"]
    with container.uow() as uow:
        audit_before = len(uow.audit.for_case(second["id"]))

    refused = client.post(
        f"/api/v1/cases/{second['id']}/grants", json={"remedies": ["refund-full"]}, headers=kim
    )

    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "not_eligible"
    assert refused.json()["details"]["rule"] == "hard.no_zero_value"
    assert client.get(f"/api/v1/cases/{second['id']}/grants", headers=kim).json() == []
    with container.uow() as uow:
        assert len(uow.audit.for_case(second["id"])) == audit_before
        assert not [m for m in uow.cases.messages(second["id"]) if m.kind.value == "outbound"]


def test_nobody_approves_their_own_request_whatever_their_role(
    client: TestClient,
    token_for: Callable[..., Headers],
    big_case: dict[str, Any],
    container: Container,
) -> None:
    """Four eyes on money: an admin who asked, as an agent, cannot approve it as an admin, a
    lead or in the console; another lead can."""
    now = container.clock.now()
    ana = auth.create_agent(
        container.uow(), SYSTEM, container.hasher, now,
        email="ana@desk.example", name="Ana", role=Role.ADMIN, password=OWN_PASSWORD,
    )  # fmt: skip
    assert ana.id is not None
    asked = client.post(
        f"/api/v1/cases/{big_case['id']}/grants",
        json={"remedies": ["refund-full"]},
        headers=token_for(Role.AGENT, ana.id),
    ).json()
    assert asked["status"] == "pending_approval"
    approval_id = asked["approval_id"]

    for role in (Role.ADMIN, Role.LEAD):
        refused = client.post(
            f"/api/v1/approvals/{approval_id}/approve", json={}, headers=token_for(role, ana.id)
        )
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "own_request"

    console = TestClient(client.app, follow_redirects=False)
    login = console.get("/login")
    login_csrf = re.search(r'name="login_csrf" value="([^"]+)"', login.text)
    assert login_csrf is not None
    signed_in = console.post(
        "/login",
        data={"email": "ana@desk.example", "password": OWN_PASSWORD,
              "login_csrf": login_csrf.group(1)},
    )  # fmt: skip
    assert signed_in.status_code == 303, signed_in.text
    page = console.get("/approvals")
    assert page.status_code == 200
    assert "You asked for this grant" in page.text
    assert 'value="approve"' not in page.text  # not offered on one's own request
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    forced = console.post(
        f"/approvals/{approval_id}/decide",
        data={"csrf_token": csrf.group(1), "decision": "approve"},
    )
    assert forced.status_code == 403
    assert 'data-code="own_request"' in forced.text
    assert "another person must approve it" in forced.text

    with container.uow() as uow:
        order = uow.orders.get("W2")
        approval = uow.approvals.get(approval_id)
    assert order is not None and len(order.payments) == 1  # every refusal moved nothing
    assert approval is not None and approval.status.value == "pending"

    approved = client.post(
        f"/api/v1/approvals/{approval_id}/approve", json={}, headers=token_for(Role.LEAD)
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "executed"


def test_whoever_asked_may_withdraw_their_own_request(
    client: TestClient,
    kim: Headers,
    agent_id: int,
    token_for: Callable[..., Headers],
    big_case: dict[str, Any],
) -> None:
    asked = client.post(
        f"/api/v1/cases/{big_case['id']}/grants", json={"remedies": ["refund-full"]}, headers=kim
    ).json()
    # A lead's token bound to the same agent: still the one who asked, who may deny, not approve.
    as_lead = token_for(Role.LEAD, agent_id)
    approval = f"/api/v1/approvals/{asked['approval_id']}"
    refused = client.post(f"{approval}/approve", json={}, headers=as_lead)
    assert refused.json()["code"] == "own_request"
    withdrawn = client.post(f"{approval}/deny", json={"note": "asked twice"}, headers=as_lead)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "denied"


def test_an_editor_grants_and_asks_for_approval_as_an_agent(
    client: TestClient,
    kim: Headers,
    token_for: Callable[..., Headers],
    wrong_items_case: dict[str, Any],
    big_case: dict[str, Any],
) -> None:
    """Publishing is no authority over money: the policy knows no editor, and treats one as
    the agent it also is."""
    editor = token_for(Role.EDITOR)
    url = f"/api/v1/cases/{wrong_items_case['id']}/plan"
    as_agent, as_editor = (client.get(url, headers=h).json() for h in (kim, editor))
    assert as_editor["offers"] == as_agent["offers"]
    assert as_editor["offers"][0]["may_grant"] is True
    asked = client.post(
        f"/api/v1/cases/{big_case['id']}/grants", json={"remedies": ["refund-full"]}, headers=editor
    )
    assert asked.status_code == 202, asked.text
    approval = client.get("/api/v1/approvals", headers=token_for(Role.LEAD)).json()[0]
    assert (approval["requested_by_role"], approval["approver_role"]) == ("agent", "lead")
    # The deprecated name answers the same role (docs/glossary.md, "Deprecated names").
    assert approval["requester_role"] == "agent"
    refused = client.post(f"/api/v1/approvals/{approval['id']}/approve", json={}, headers=editor)
    assert refused.status_code == 403, refused.text


def test_each_ledger_posting_names_the_remedy_that_posted_it(
    client: TestClient, kim: Headers, wrong_items_case: dict[str, Any], container: Container
) -> None:
    """What lets the reports cost each remedy by its own postings (test_reports.py): a
    keep-the-item bundled with a refund posts nothing, so it costs nothing."""
    url = f"/api/v1/cases/{wrong_items_case['id']}/grants"
    granted = client.post(
        url,
        json={"remedies": ["refund-full", "keep-item"]},
        headers={**kim, "Idempotency-Key": "unequal-bundle"},
    )
    assert granted.status_code == 201, granted.text
    assert Decimal(granted.json()["cost"]) == D("50.00")
    with container.uow() as uow:
        entries = uow.ledger.for_grant(granted.json()["id"])
    assert {e.remedy_id for e in entries} == {"refund-full"}
