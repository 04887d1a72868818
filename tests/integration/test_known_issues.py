"""Known issues and their programs: an owner of an affected product who describes the issue
gets the article and the program first, on the case and in the planner; nobody else does."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.agents import Role
from caredesk.domain.customers import Address
from caredesk.services.engine import policy
from tests import factories
from tests.integration.conftest import Headers
from tests.integration.knowledge_fixtures import audit_actions, create_article, problem
from tests.integration.money_store import add_agent

D = Decimal
ISSUE = "labelwriter-os-upgrade"
PROGRAM = "labelwriter-upgrade"
COMPLAINT = "My LabelWriter stopped printing after I updated macOS yesterday. Please help!"


def _customer(container: Container, customer_id: str, product: str, variant: str) -> None:
    now = container.clock.now()
    factories.store(
        container,
        factories.customer(
            customer_id,
            now,
            addresses=[Address("1 Main St", city="Austin", state="TX", zip="73301")],
            customer_for=timedelta(days=400),
        ),
        factories.order(
            f"W-{customer_id}",
            customer_id,
            now,
            factories.line(variant, product, product.title(), "99.00"),
            address=Address("1 Main St"),
            tracking="1Z1",
            delivered=timedelta(days=90),
            placed=timedelta(days=95),
        ),
    )


@pytest.fixture
def store(container: Container, client: TestClient, token_for: Any) -> dict[str, Headers]:
    """Two customers: Ada owns the affected LabelWriter 350, Bob a kettle. The policy in
    force has a program that sends the 450 free for the known issue."""
    factories.store(
        container,
        factories.product(
            "labelwriter-350",
            "LabelWriter 350",
            factories.variant("lw350", "labelwriter-350", "99.00", "40.00"),
        ),
        factories.product(
            "labelwriter-450",
            "LabelWriter 450",
            factories.variant("lw450", "labelwriter-450", "129.00", "45.00"),
        ),
        factories.product(
            "kettle", "Kettle", factories.variant("kettle-red", "kettle", "99.00", "30.00")
        ),
    )
    _customer(container, "ada", "labelwriter-350", "lw350")
    _customer(container, "bob", "kettle", "kettle-red")
    data: dict[str, Any] = yaml.safe_load(policy.packaged_policy_text("default"))
    data["version"] = f"{data['version']}+labelwriter"
    data["programs"] = [
        {
            "id": PROGRAM,
            "known_issue": ISSUE,
            "remedy": "upgrade-known-issue",
            "params": {"upgrade_to": "lw450", "product_ids": ["labelwriter-350"]},
            "description": "The 350 fails after the OS upgrade; send a 450 free.",
        }
    ]
    admin: Headers = token_for(Role.ADMIN)
    # A program is a new way to grant: it waits for a second admin (agent-bound) to confirm.
    proposed = client.put("/api/v1/policy", json={"text": yaml.safe_dump(data)}, headers=admin)
    assert proposed.status_code == 202, proposed.text
    second = add_agent(container, "second-admin@example.com", Role.ADMIN)
    confirmed = client.post(
        f"/api/v1/policy/changes/{proposed.json()['id']}/confirm",
        json={},
        headers=token_for(Role.ADMIN, second.agent_id),
    )
    assert confirmed.status_code == 200, confirmed.text
    return {"admin": admin, "lead": token_for(Role.LEAD), "agent": token_for(Role.AGENT)}


def _issue(client: TestClient, headers: Headers, **fields: Any) -> Any:
    payload = {
        "key": ISSUE,
        "title": "LabelWriter 350 stops printing after an OS upgrade",
        "product_ids": ["labelwriter-350"],
        "conditions": ["upgrade|upgraded|update|updated", "macos|os x|operating system"],
        "program_id": PROGRAM,
        **fields,
    }
    return client.post("/api/v1/known-issues", json=payload, headers=headers)


@pytest.fixture
def known_issue(client: TestClient, store: dict[str, Headers]) -> dict[str, Any]:
    article = create_article(
        client,
        store["agent"],
        title="LabelWriter 350 after the macOS upgrade",
        body="The 350's **driver** does not run on the new macOS. <b>We send a 450 free.</b>",
        product_ids=["labelwriter-350"],
        status="published",
    )
    response = _issue(client, store["lead"], article_id=article["id"])
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _case(client: TestClient, headers: Headers, customer_id: str, body: str) -> dict[str, Any]:
    response = client.post(
        "/api/v1/cases",
        json={"customer_id": customer_id, "subject": "Printer problem", "body": body},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    case: dict[str, Any] = response.json()
    return case


def test_an_owner_who_describes_the_issue_gets_article_and_program_first(
    client: TestClient, store: dict[str, Headers], known_issue: dict[str, Any]
) -> None:
    agent = store["agent"]
    # Something that reads much like the case, to prove the pinned article beats it.
    create_article(
        client,
        agent,
        title="Printer stopped printing after update",
        body="Printer problem: check the cable after an update.",
        status="published",
    )
    case = _case(client, agent, "ada", COMPLAINT)
    assert f"known-issue:{ISSUE}" in case["tags"]
    assert case["custom_fields"]["known_issue"] == ISSUE

    triage = client.get(f"/api/v1/cases/{case['id']}/triage", headers=agent).json()
    assert triage["known_issues"] == [ISSUE]
    assert triage["intent"] == "known_issue"

    found = client.get(f"/api/v1/cases/{case['id']}/suggestions", headers=agent)
    assert found.status_code == 200, found.text
    suggestions = found.json()
    assert suggestions["known_issues"] == [ISSUE]
    assert suggestions["items"][0]["id"] == str(known_issue["article_id"])
    assert suggestions["items"][0]["kind"] == "article"
    assert suggestions["items"][0]["snippet"] == (
        "The 350's driver does not run on the new macOS. We send a 450 free."
    )
    assert [p["id"] for p in suggestions["programs"]] == [PROGRAM]
    assert suggestions["programs"][0]["remedy"] == "upgrade-known-issue"

    plan = client.get(f"/api/v1/cases/{case['id']}/plan", headers=agent)
    assert plan.status_code == 200, plan.text
    offers = plan.json()["offers"]
    assert offers, plan.json()
    first = offers[0]
    upgrade = next(r for r in first["remedies"] if r["id"] == "upgrade-known-issue")
    assert upgrade["params"]["program"] == PROGRAM
    assert upgrade["params"]["upgrade_to"] == "lw450"


def test_a_customer_without_the_product_does_not_get_it(
    client: TestClient, store: dict[str, Headers], known_issue: dict[str, Any]
) -> None:
    agent = store["agent"]
    case = _case(client, agent, "bob", COMPLAINT)
    assert not any(t.startswith("known-issue:") for t in case["tags"])
    suggestions = client.get(f"/api/v1/cases/{case['id']}/suggestions", headers=agent).json()
    assert suggestions["known_issues"] == [] and suggestions["programs"] == []
    # Nothing pinned: every item was found by search (a pinned known-issue article has no rank).
    assert all(item["lexical_rank"] or item["semantic_rank"] for item in suggestions["items"])
    plan = client.get(f"/api/v1/cases/{case['id']}/plan", headers=agent).json()
    offered = {r["id"] for offer in plan["offers"] for r in offer["remedies"]}
    assert "upgrade-known-issue" not in offered
    assert "upgrade-known-issue" in plan["ineligible"]


def test_an_owner_with_another_problem_does_not_get_it(
    client: TestClient, store: dict[str, Headers], known_issue: dict[str, Any]
) -> None:
    agent = store["agent"]
    case = _case(client, agent, "ada", "The label printer jams on every third label.")
    suggestions = client.get(f"/api/v1/cases/{case['id']}/suggestions", headers=agent).json()
    assert suggestions["known_issues"] == [] and suggestions["programs"] == []
    # Later messages that describe the issue bring it in: triage runs on every message, and
    # the conditions may be met by the messages as a whole.
    url = f"/api/v1/cases/{case['id']}/messages"
    for body in ("Also, it has been dead since the upgrade.", "I'm on the latest macOS."):
        message = client.post(url, json={"kind": "inbound", "body": body}, headers=agent)
        assert message.status_code == 201, message.text
    suggestions = client.get(f"/api/v1/cases/{case['id']}/suggestions", headers=agent).json()
    assert suggestions["known_issues"] == [ISSUE]
    assert [p["id"] for p in suggestions["programs"]] == [PROGRAM]


def test_known_issue_crud_is_audited_and_checked(
    client: TestClient, store: dict[str, Headers], known_issue: dict[str, Any], container: Container
) -> None:
    lead, agent = store["lead"], store["agent"]
    listed = client.get("/api/v1/known-issues", headers=agent).json()
    assert [i["key"] for i in listed] == [ISSUE]
    url = f"/api/v1/known-issues/{ISSUE}"
    assert client.get(url, headers=agent).json()["program_id"] == PROGRAM

    described = client.patch(
        url,
        json={"version": known_issue["version"], "description": "Since macOS 15."},
        headers=lead,
    )
    assert described.status_code == 200, described.text
    changed = client.patch(
        url, json={"version": described.json()["version"], "variant_ids": ["lw350"]}, headers=lead
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["variant_ids"] == ["lw350"]
    assert changed.json()["description"] == "Since macOS 15."  # kept when not sent
    assert changed.json()["version"] == known_issue["version"] + 2
    problem(
        client.patch(url, json={"version": known_issue["version"], "active": False}, headers=lead),
        409,
        "version_conflict",
    )
    unlinked = client.patch(url, json={"program_id": None}, headers=lead)
    assert unlinked.status_code == 200 and unlinked.json()["program_id"] is None
    problem(client.patch(url, json={"title": None}, headers=lead), 422, "validation_error")
    problem(client.patch(url, json={"product_ids": None}, headers=lead), 422, "validation_error")
    assert audit_actions(container, "known_issue", ISSUE) == [
        "known_issue.created",
        "known_issue.updated",
        "known_issue.updated",
        "known_issue.updated",
    ]

    # Agents read known issues; leads decide them.
    problem(_issue(client, agent, key="other"), 403, "forbidden")
    problem(_issue(client, lead), 409, "conflict")
    problem(
        _issue(client, lead, key="ghost-program", program_id="no-such"), 422, "validation_error"
    )
    problem(_issue(client, lead, key="ghost-article", article_id=999_999), 404, "not_found")
    problem(_issue(client, lead, key="nothing", product_ids=[]), 422, "validation_error")
    problem(_issue(client, lead, key="Bad Key"), 422, "validation_error")
    problem(client.get("/api/v1/known-issues/nope", headers=agent), 404, "not_found")
    problem(client.patch("/api/v1/known-issues/nope", json={}, headers=lead), 404, "not_found")
    assert len(client.get("/api/v1/known-issues", headers=agent).json()) == 1


def test_an_inactive_issue_matches_nothing(
    client: TestClient, store: dict[str, Headers], known_issue: dict[str, Any]
) -> None:
    client.patch(
        f"/api/v1/known-issues/{ISSUE}",
        json={"version": known_issue["version"], "active": False},
        headers=store["lead"],
    )
    case = _case(client, store["agent"], "ada", COMPLAINT)
    assert case["custom_fields"].get("known_issue") is None
