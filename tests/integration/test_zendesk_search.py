"""/api/v2 search: Zendesk's query language over cases, customers and agents."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM
from caredesk.domain.cases import CaseStatus, Priority
from caredesk.services.access import auth
from caredesk.services.cases import cases
from tests.conftest import ManualClock
from tests.integration.test_zendesk_foundation import _agent, _refusal

Headers = dict[str, str]


def _case(container: Container, customer_id: str, subject: str, **fields: Any) -> int:
    view = cases.create_case(
        container.uow(),
        SYSTEM,
        container.clock.now(),
        customer_id=customer_id,
        subject=subject,
        body=f"About the {subject.lower()}.",
        **fields,
    )
    assert view.case.id is not None
    return view.case.id


@pytest.fixture
def desk(
    client: TestClient,
    container: Container,
    clock: ManualClock,
    admin: Headers,
    customer: dict[str, Any],
) -> dict[str, Any]:
    """Four cases of two customers, a day apart, each with something of its own."""
    other = client.post(
        "/api/v1/customers",
        json={"first_name": "Bob", "last_name": "Stone", "emails": ["bob@example.com"]},
        headers=admin,
    ).json()
    zoe = _agent(container)
    team = auth.create_team(container.uow(), SYSTEM, clock.now(), "Billing")
    ids = {"zoe": zoe, "team": team.id, "ada": customer["id"], "bob": other["id"]}
    ids["printer"] = _case(container, customer["id"], "Printer jam", tags=["vip"])
    clock.advance(days=1)
    ids["lamp"] = _case(
        container, customer["id"], "Lamp flickers", priority=Priority.HIGH, assignee_id=zoe
    )
    clock.advance(days=1)
    ids["refund"] = _case(container, other["id"], "Refund please", tags=["spam"], team_id=team.id)
    clock.advance(days=1)
    ids["kettle"] = _case(container, other["id"], "Kettle leaks", priority=Priority.URGENT)
    cases.change_status(container.uow(), SYSTEM, clock.now(), ids["kettle"], CaseStatus.SOLVED)
    return ids


def _found(client: TestClient, agent: Headers, query: str, **params: Any) -> list[int]:
    response = client.get("/api/v2/search.json", params={"query": query, **params}, headers=agent)
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["results"]]


# Every keyword against one desk: one setting up for all of them.
KEYWORDS = [
    ("printer", ["printer"]),
    ("type:ticket printer", ["printer"]),
    ('"lamp flickers"', ["lamp"]),
    ("-printer status<solved", ["refund", "lamp"]),
    ("status:solved", ["kettle"]),
    ("status<solved", ["refund", "lamp", "printer"]),
    ("status>new", ["kettle"]),
    ("priority:high", ["lamp"]),
    ("priority>normal", ["kettle", "lamp"]),
    ("tags:vip", ["printer"]),
    ("tag:vip tags:spam", ["refund", "printer"]),
    ("-tags:spam status<solved", ["lamp", "printer"]),
    ("requester:ada@example.com", ["lamp", "printer"]),
    ("requester:nobody@example.com", []),
    ("assignee:zoe@caredesk.example", ["lamp"]),
    ("assignee:none status<solved", ["refund", "printer"]),
    ("group:Billing", ["refund"]),
    ("group:Nobody", []),
    ("created<2026-01-01", []),
    ("created>3days", ["kettle", "refund", "lamp", "printer"]),
    ("created>36hours", ["kettle", "refund"]),
    ("updated<12hours", ["refund", "lamp", "printer"]),
    ("foo:bar", []),
]


def test_each_keyword_finds_its_tickets(
    client: TestClient, agent: Headers, desk: dict[str, Any]
) -> None:
    found = {query: _found(client, agent, query) for query, _ in KEYWORDS}
    assert found == {query: [desk[n] for n in names] for query, names in KEYWORDS}


def test_people_are_named_by_their_zendesk_user_id_too(
    client: TestClient, agent: Headers, desk: dict[str, Any]
) -> None:
    lamp = client.get(f"/api/v2/tickets/{desk['lamp']}.json", headers=agent).json()["ticket"]
    assert _found(client, agent, f"assignee:{lamp['assignee_id']}") == [desk["lamp"]]
    assert _found(client, agent, f"requester:{lamp['requester_id']}") == [
        desk["lamp"],
        desk["printer"],
    ]
    assert _found(client, agent, f"group:{desk['team']}") == [desk["refund"]]


def test_results_are_tickets_in_zendesks_envelope(
    client: TestClient, agent: Headers, desk: dict[str, Any]
) -> None:
    body = client.get("/api/v2/search.json?query=printer", headers=agent).json()
    assert body["count"] == 1 and body["facets"] is None
    assert (body["next_page"], body["previous_page"]) == (None, None)
    assert body["results"][0]["result_type"] == "ticket"
    assert body["results"][0]["subject"] == "Printer jam"


def test_pages_and_count(client: TestClient, agent: Headers, desk: dict[str, Any]) -> None:
    first = client.get("/api/v2/search.json?query=status<closed&per_page=3", headers=agent).json()
    assert first["count"] == 4 and len(first["results"]) == 3
    assert first["next_page"].endswith("page=2") and first["previous_page"] is None
    second = client.get(first["next_page"], headers=agent).json()
    assert [r["id"] for r in second["results"]] == [desk["printer"]]
    assert second["next_page"] is None and second["previous_page"] is not None
    counted = client.get("/api/v2/search/count.json?query=status<solved", headers=agent)
    assert counted.json() == {"count": 3}


@pytest.mark.parametrize(
    ("sort_by", "order", "names"),
    [
        ("created_at", "asc", ["printer", "lamp", "refund", "kettle"]),
        ("updated_at", "desc", ["kettle", "refund", "lamp", "printer"]),
        ("priority", "desc", ["kettle", "lamp", "refund", "printer"]),
        ("status", "asc", ["printer", "lamp", "refund", "kettle"]),
    ],
)
def test_sort_by_and_sort_order(
    client: TestClient,
    agent: Headers,
    desk: dict[str, Any],
    sort_by: str,
    order: str,
    names: list[str],
) -> None:
    found = _found(client, agent, "type:ticket", sort_by=sort_by, sort_order=order)
    assert found == [desk[n] for n in names]


def test_search_stops_at_a_thousand_results(
    client: TestClient, agent: Headers, desk: dict[str, Any]
) -> None:
    past = client.get("/api/v2/search.json?query=x&page=11&per_page=100", headers=agent)
    body = _refusal(past, 422, "RecordInvalid")
    assert "page" in body["details"]
    assert (
        client.get("/api/v2/search.json?query=x&page=10&per_page=100", headers=agent).status_code
        == 200
    )


@pytest.mark.parametrize("query", ["", "status:urgent", "created>someday", "type:organization"])
def test_a_query_the_language_cannot_hold_is_a_422(
    client: TestClient, agent: Headers, query: str
) -> None:
    body = _refusal(
        client.get("/api/v2/search.json", params={"query": query}, headers=agent),
        422,
        "RecordInvalid",
    )
    assert "query" in body["details"]


def test_users_are_customers_and_agents_by_name_or_email(
    client: TestClient, agent: Headers, desk: dict[str, Any]
) -> None:
    body = client.get("/api/v2/search.json?query=type:user bob", headers=agent).json()
    assert [(u["result_type"], u["role"], u["email"]) for u in body["results"]] == [
        ("user", "end-user", "bob@example.com")
    ]
    zoe = client.get("/api/v2/search.json?query=type:user zoe@caredesk", headers=agent).json()
    assert [u["role"] for u in zoe["results"]] == ["agent"] and zoe["count"] == 1
