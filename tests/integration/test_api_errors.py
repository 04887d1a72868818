"""Bad input gets a problem+json with a stable code, never a 500, and nothing is written."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from caredesk.adapters.db.models import Base
from caredesk.bootstrap import Container, bootstrap
from caredesk.domain.agents import SYSTEM
from caredesk.domain.customers import Address
from caredesk.domain.errors import ValidationFailed
from caredesk.domain.orders import Order, OrderLine, OrderStatus
from caredesk.services.access import auth
from caredesk.settings import Settings
from caredesk.web.app import create_app
from tests.conftest import ManualClock
from tests.integration.conftest import CUSTOMER, Headers

NewCase = Callable[..., dict[str, Any]]
PROBLEM_KEYS = {"type", "title", "status", "code", "detail"}


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """Assert `response` is an RFC 9457 problem with this status and stable code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_KEYS, body
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["type"].endswith(f"/{code}")
    assert body["detail"]
    return body


def row_counts(container: Container) -> dict[str, int]:
    """How many rows each table holds: equal before and after means nothing was written."""
    with container.engine.connect() as conn:
        return {
            table.name: int(conn.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


def add_order(container: Container, order_id: str, customer_id: str, status: OrderStatus) -> Order:
    order = Order(
        id=order_id,
        customer_id=customer_id,
        status=status,
        address=Address(address1="1 Analytical Way", city="London", country="UK"),
        lines=[
            OrderLine(
                variant_id="v-red",
                product_id="p-kettle",
                name="Kettle",
                price=Decimal("49.90"),
                options={"colour": "red"},
            )
        ],
    )
    with container.uow() as uow:
        uow.orders.add(order)
        uow.commit()
    return order


def other_customer(client: TestClient, admin: Headers) -> dict[str, Any]:
    response = client.post(
        "/api/v1/customers",
        json={**CUSTOMER, "first_name": "Bob", "emails": ["bob@example.com"]},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# --- malformed and invalid bodies -----------------------------------------------------------


@pytest.mark.one_backend
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/cases"),
        ("post", "/api/v1/customers"),
        ("post", "/api/v1/teams"),
    ],
)
@pytest.mark.parametrize(
    "raw", [b'{"subject": "x",', b"not json at all", b'{"a": 1}}', b"\xff\xfe"]
)
def test_malformed_json_is_400_and_writes_nothing(
    client: TestClient,
    container: Container,
    admin: Headers,
    method: str,
    path: str,
    raw: bytes,
) -> None:
    before = row_counts(container)
    response = getattr(client, method)(
        path, content=raw, headers={**admin, "content-type": "application/json"}
    )
    problem(response, 400, "malformed_json")
    assert row_counts(container) == before


def test_malformed_json_on_a_patch_leaves_the_case_as_it_was(
    client: TestClient, container: Container, agent: Headers, new_case: NewCase
) -> None:
    case = new_case()
    before = row_counts(container)
    response = client.patch(
        f"/api/v1/cases/{case['id']}",
        content=b'{"priority": "high", "version": ',
        headers={**agent, "content-type": "application/json", "If-Match": f'"{case["version"]}"'},
    )
    problem(response, 400, "malformed_json")
    assert row_counts(container) == before
    assert client.get(f"/api/v1/cases/{case['id']}", headers=agent).json() == case


@pytest.mark.one_backend
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": "x", "surprise": True}, "surprise"),
        ({"subject": 42}, "subject"),
        ({"subject": ["x"]}, "subject"),
        ({"subject": ""}, "subject"),
        ({"subject": "   "}, "subject"),
        ({"subject": "x", "priority": "whenever"}, "priority"),
        ({"subject": "x", "channel": "carrier-pigeon"}, "channel"),
        ({"subject": "x", "tags": "printer"}, "tags"),
        ({"subject": "x", "assignee_id": "seven"}, "assignee_id"),
        ({"subject": "x", "assignee_id": 1.5}, "assignee_id"),
        ({"subject": "x", "custom_fields": {"k": {"nested": 1}}}, "custom_fields"),
        ({"subject": "x", "custom_fields": []}, "custom_fields"),
        ({"subject": "x", "body": 7}, "body"),
        ({"subject": "x", "attachments": [{"filename": "a.txt"}]}, "attachments"),
    ],
)
def test_invalid_case_bodies_are_422_and_write_nothing(
    client: TestClient,
    container: Container,
    agent: Headers,
    customer: dict[str, Any],
    body: dict[str, Any],
    field: str,
) -> None:
    before = row_counts(container)
    response = client.post(
        "/api/v1/cases", json={"customer_id": customer["id"], **body}, headers=agent
    )
    found = problem(response, 422, "validation_error")
    assert any(field in err["loc"] for err in found["errors"]), found["errors"]
    assert row_counts(container) == before


@pytest.mark.one_backend
def test_a_body_that_is_not_an_object_is_422(
    client: TestClient, container: Container, agent: Headers
) -> None:
    before = row_counts(container)
    for body in ([], "case", 42, None):
        problem(client.post("/api/v1/cases", json=body, headers=agent), 422, "validation_error")
    assert row_counts(container) == before


@pytest.mark.one_backend
@pytest.mark.parametrize(
    "body",
    [
        {**CUSTOMER, "emails": ["someone@example.com"], "nickname": "Ada"},
        {**CUSTOMER, "emails": "ada@example.com"},
        {**CUSTOMER, "emails": []},
        {**CUSTOMER, "emails": ["not-an-email"]},
        {**CUSTOMER, "emails": ["x@example.com"], "first_name": None},
        {**CUSTOMER, "emails": ["x@example.com"], "id": "has spaces"},
        {**CUSTOMER, "emails": ["x@example.com"], "addresses": [{"city": "Paris"}]},
        {**CUSTOMER, "emails": ["x@example.com"], "addresses": [{"address1": "a", "moon": 1}]},
    ],
)
def test_invalid_customer_bodies_are_422_and_write_nothing(
    client: TestClient, container: Container, admin: Headers, body: dict[str, Any]
) -> None:
    before = row_counts(container)
    problem(client.post("/api/v1/customers", json=body, headers=admin), 422, "validation_error")
    assert row_counts(container) == before


def test_invalid_message_and_patch_bodies_write_nothing(
    client: TestClient, container: Container, agent: Headers, new_case: NewCase
) -> None:
    case = new_case(body="first")
    url = f"/api/v1/cases/{case['id']}"
    if_match = {**agent, "If-Match": f'"{case["version"]}"'}
    before = row_counts(container)
    for body in (
        {"body": "hi", "cc": "boss@example.com"},
        {"kind": "telepathy", "body": "hi"},
        {"body": None},
        {"body": "", "attachments": []},
    ):
        problem(client.post(f"{url}/messages", json=body, headers=agent), 422, "validation_error")
    for body in ({"body": "x", "kind": "note"}, {"body": ["x"]}):
        problem(client.post(f"{url}/notes", json=body, headers=agent), 422, "validation_error")
    for body in (
        {"colour": "red"},
        {"priority": "whenever"},
        {"subject": ""},
        {"tags": ["has space"]},
        {"status": "archived"},
    ):
        problem(client.patch(url, json=body, headers=if_match), 422, "validation_error")
    assert row_counts(container) == before
    assert client.get(url, headers=agent).json()["version"] == case["version"]


# --- unknown ids ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/cases/999999",
        "/api/v1/cases/999999/audit",
        "/api/v1/cases/999999/grants",
        "/api/v1/customers/nobody",
        "/api/v1/customers/nobody/orders",
        "/api/v1/orders/%23W0000000",
        "/api/v1/orders/nothing",
        "/api/v1/products/none",
        "/api/v1/grants/999",
        f"/api/v1/attachments/{'0' * 64}",
    ],
)
def test_unknown_ids_are_404(client: TestClient, agent: Headers, path: str) -> None:
    found = problem(client.get(path, headers=agent), 404, "not_found")
    assert found["instance"] == path


def test_an_unknown_order_id_is_reported_decoded(client: TestClient, agent: Headers) -> None:
    found = problem(client.get("/api/v1/orders/%23W0000000", headers=agent), 404, "not_found")
    assert found["details"] == {"entity": "order", "id": "#W0000000"}


def test_an_order_id_with_a_hash_is_found_when_url_encoded(
    client: TestClient, container: Container, agent: Headers, customer: dict[str, Any]
) -> None:
    add_order(container, "#W1000001", customer["id"], OrderStatus.DELIVERED)
    assert client.get("/api/v1/orders/%23W1000001", headers=agent).json()["id"] == "#W1000001"
    # Unencoded, '#' starts the fragment and the path is /orders/ alone.
    assert client.get("/api/v1/orders/#W1000001", headers=agent).status_code == 404
    problem(client.get("/api/v1/orders/%23W1000002", headers=agent), 404, "not_found")


def test_writes_on_unknown_cases_and_customers_are_404_and_write_nothing(
    client: TestClient, container: Container, admin: Headers
) -> None:
    before = row_counts(container)
    writes = [
        ("post", "/api/v1/cases/424242/messages", {"body": "hello"}),
        ("post", "/api/v1/cases/424242/notes", {"body": "hello"}),
        ("post", "/api/v1/cases/424242/status", {"status": "solved"}),
        ("post", "/api/v1/cases/424242/assignment", {"assignee_id": None}),
        ("patch", "/api/v1/cases/424242", {"priority": "high", "version": 1}),
        ("patch", "/api/v1/customers/nobody", {"tier": "gold", "version": 1}),
        ("delete", "/api/v1/customers/nobody", None),
        ("delete", "/api/v1/tokens/424242", None),
    ]
    for method, path, body in writes:
        kwargs: dict[str, Any] = {"headers": admin}
        if body is not None:
            kwargs["json"] = body
        found = problem(getattr(client, method)(path, **kwargs), 404, "not_found")
        assert found["details"]["entity"] in {"case", "customer", "token"}
    assert row_counts(container) == before


@pytest.mark.parametrize(
    ("body", "entity"),
    [
        ({"customer_id": "ghost", "subject": "x"}, "customer"),
        ({"subject": "x", "order_ids": ["#W9999999"]}, "order"),
        ({"subject": "x", "assignee_id": 4242}, "agent"),
        ({"subject": "x", "team_id": 4242}, "team"),
    ],
)
def test_a_case_with_unknown_references_writes_nothing(
    client: TestClient,
    container: Container,
    agent: Headers,
    customer: dict[str, Any],
    body: dict[str, Any],
    entity: str,
) -> None:
    before = row_counts(container)
    response = client.post(
        "/api/v1/cases", json={"customer_id": customer["id"], **body}, headers=agent
    )
    assert problem(response, 404, "not_found")["details"]["entity"] == entity
    assert row_counts(container) == before


def test_assignment_to_an_unknown_agent_or_team_changes_nothing(
    client: TestClient, container: Container, admin: Headers, agent: Headers, new_case: NewCase
) -> None:
    team = client.post("/api/v1/teams", json={"name": "Tier 2"}, headers=admin).json()
    case = new_case()
    url = f"/api/v1/cases/{case['id']}"
    before = row_counts(container)
    refused = [
        client.post(f"{url}/assignment", json={"assignee_id": 4242}, headers=agent),
        client.post(
            f"{url}/assignment",
            json={"assignee_id": None, "team_id": team["id"] + 1000},
            headers=agent,
        ),
        client.patch(url, json={"assignee_id": 4242, "version": case["version"]}, headers=agent),
        client.patch(url, json={"team_id": 4242, "version": case["version"]}, headers=agent),
    ]
    assert [problem(r, 404, "not_found")["details"]["entity"] for r in refused] == [
        "agent",
        "team",
        "agent",
        "team",
    ]
    assert row_counts(container) == before
    after = client.get(url, headers=agent).json()
    assert (after["assignee_id"], after["team_id"], after["status"]) == (None, None, "new")
    assert after["version"] == case["version"]


def test_a_case_whose_order_belongs_to_another_customer_is_refused(
    client: TestClient,
    container: Container,
    admin: Headers,
    agent: Headers,
    customer: dict[str, Any],
    new_case: NewCase,
) -> None:
    bob = other_customer(client, admin)
    add_order(container, "#W2000001", bob["id"], OrderStatus.DELIVERED)
    before = row_counts(container)
    response = client.post(
        "/api/v1/cases",
        json={"customer_id": customer["id"], "subject": "x", "order_ids": ["#W2000001"]},
        headers=agent,
    )
    found = problem(response, 422, "validation_error")
    assert found["details"] == {"field": "order_ids", "order_id": "#W2000001"}
    assert row_counts(container) == before

    case = new_case()
    patch = client.patch(
        f"/api/v1/cases/{case['id']}",
        json={"order_ids": ["#W2000001"], "version": case["version"]},
        headers=agent,
    )
    problem(patch, 422, "validation_error")
    assert client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()["order_ids"] == []


# --- state rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path_to", "target"),
    [
        ([], "closed"),
        (["pending"], "closed"),
        (["on-hold"], "closed"),
        (["solved", "closed"], "open"),
        (["solved"], "pending"),
    ],
)
def test_forbidden_transitions_are_409_and_change_nothing(
    client: TestClient,
    container: Container,
    agent: Headers,
    new_case: NewCase,
    path_to: list[str],
    target: str,
) -> None:
    case = new_case()
    url = f"/api/v1/cases/{case['id']}"
    for status in path_to:
        assert client.post(f"{url}/status", json={"status": status}, headers=agent).is_success
    current = client.get(url, headers=agent).json()
    before = row_counts(container)
    refused = client.post(f"{url}/status", json={"status": target}, headers=agent)
    found = problem(refused, 409, "invalid_transition")
    assert found["details"]["from"] == current["status"]
    assert found["details"]["to"] == target
    via_patch = client.patch(
        url, json={"status": target, "version": current["version"]}, headers=agent
    )
    problem(via_patch, 409, "invalid_transition")
    assert row_counts(container) == before
    after = client.get(url, headers=agent).json()
    assert (after["status"], after["version"]) == (current["status"], current["version"])


def test_deleting_a_customer_with_history_is_refused(
    client: TestClient,
    container: Container,
    admin: Headers,
    new_case: NewCase,
    customer: dict[str, Any],
) -> None:
    new_case()
    bob = other_customer(client, admin)
    add_order(container, "#W3000001", bob["id"], OrderStatus.PENDING)
    before = row_counts(container)
    for who in (customer, bob):
        found = problem(
            client.delete(f"/api/v1/customers/{who['id']}", headers=admin), 409, "conflict"
        )
        assert found["details"] == {"customer_id": who["id"]}
        assert client.get(f"/api/v1/customers/{who['id']}", headers=admin).status_code == 200
    assert row_counts(container) == before


def test_duplicate_emails_on_create_and_update(
    client: TestClient, container: Container, admin: Headers, customer: dict[str, Any]
) -> None:
    before = row_counts(container)
    for emails in (["ADA@example.com"], ["new@example.com", " ada@EXAMPLE.com "]):
        found = problem(
            client.post("/api/v1/customers", json={**CUSTOMER, "emails": emails}, headers=admin),
            409,
            "duplicate_email",
        )
        assert found["details"] == {"email": "ada@example.com", "customer_id": customer["id"]}
    assert row_counts(container) == before

    bob = other_customer(client, admin)
    before = row_counts(container)
    found = problem(
        client.patch(
            f"/api/v1/customers/{bob['id']}",
            json={"emails": ["bob@example.com", "Ada@Example.com"], "version": bob["version"]},
            headers=admin,
        ),
        409,
        "duplicate_email",
    )
    assert found["details"]["customer_id"] == customer["id"]
    assert row_counts(container) == before
    unchanged = client.get(f"/api/v1/customers/{bob['id']}", headers=admin).json()
    assert unchanged["emails"] == ["bob@example.com"]
    assert unchanged["version"] == bob["version"]
    # Keeping one's own address (in any case) is not a duplicate.
    kept = client.patch(
        f"/api/v1/customers/{customer['id']}",
        json={"emails": ["ADA@example.com"], "version": customer["version"]},
        headers=admin,
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["emails"] == ["ada@example.com"]


def test_duplicate_customer_id(
    client: TestClient, container: Container, admin: Headers, customer: dict[str, Any]
) -> None:
    before = row_counts(container)
    found = problem(
        client.post(
            "/api/v1/customers",
            json={**CUSTOMER, "id": customer["id"], "emails": ["c@example.com"]},
            headers=admin,
        ),
        409,
        "duplicate_id",
    )
    assert customer["id"] in found["detail"]
    assert row_counts(container) == before
    assert client.get(f"/api/v1/customers/{customer['id']}", headers=admin).json() == customer


# --- paging ---------------------------------------------------------------------------------


def _cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


@pytest.mark.one_backend
@pytest.mark.parametrize("path", ["/api/v1/cases", "/api/v1/customers", "/api/v1/products"])
@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "not-a-cursor",
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
        _cursor(),
        _cursor(1, 2, 3),
        _cursor("soon"),
        _cursor(None),
        _cursor([1]),
        _cursor(2**70),
        _cursor("yesterday", 5),
        _cursor("2026-03-02T09:00:00+00:00", "five"),
        _cursor("2026-03-02T09:00:00+00:00", 2**70),
        base64.urlsafe_b64encode(b'{"after": 1}').decode(),
    ],
)
def test_an_invalid_cursor_is_400(
    client: TestClient, agent: Headers, path: str, cursor: str
) -> None:
    problem(client.get(path, params={"cursor": cursor}, headers=agent), 400, "invalid_cursor")


@pytest.mark.one_backend
@pytest.mark.parametrize("path", ["/api/v1/cases", "/api/v1/customers", "/api/v1/products"])
@pytest.mark.parametrize("limit", ["0", "-1", "201", "1000000", "ten", "1.5", str(2**64)])
def test_a_limit_out_of_range_is_422(
    client: TestClient, agent: Headers, path: str, limit: str
) -> None:
    found = problem(
        client.get(path, params={"limit": limit}, headers=agent), 422, "validation_error"
    )
    assert ["query", "limit"] in [err["loc"] for err in found["errors"]]


def test_the_limit_bounds_themselves_are_accepted(client: TestClient, agent: Headers) -> None:
    for limit in (1, 200):
        assert (
            client.get("/api/v1/cases", params={"limit": limit}, headers=agent).status_code == 200
        )


# --- preconditions --------------------------------------------------------------------------


@pytest.mark.one_backend
def test_a_patch_needs_if_match_or_version(
    client: TestClient,
    container: Container,
    admin: Headers,
    agent: Headers,
    new_case: NewCase,
    customer: dict[str, Any],
) -> None:
    case = new_case()
    before = row_counts(container)
    for url, body in (
        (f"/api/v1/cases/{case['id']}", {"priority": "high"}),
        (f"/api/v1/customers/{customer['id']}", {"tier": "platinum"}),
    ):
        found = problem(client.patch(url, json=body, headers=admin), 428, "precondition_required")
        assert "If-Match" in found["detail"]
    assert row_counts(container) == before
    assert client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()["priority"] == "normal"
    assert client.get(f"/api/v1/customers/{customer['id']}", headers=agent).json()["tier"] == "gold"


@pytest.mark.one_backend
@pytest.mark.parametrize("if_match", ["nonsense", "3", '"three"', '"-1"', "*", '"1", "2"', '""'])
def test_a_garbage_if_match_is_422(
    client: TestClient, container: Container, agent: Headers, new_case: NewCase, if_match: str
) -> None:
    case = new_case()
    before = row_counts(container)
    response = client.patch(
        f"/api/v1/cases/{case['id']}",
        json={"priority": "high"},
        headers={**agent, "If-Match": if_match},
    )
    assert problem(response, 422, "validation_error")["details"] == {"header": "If-Match"}
    assert row_counts(container) == before


@pytest.mark.one_backend
def test_if_match_and_a_disagreeing_version_are_422(
    client: TestClient, agent: Headers, new_case: NewCase
) -> None:
    case = new_case()
    response = client.patch(
        f"/api/v1/cases/{case['id']}",
        json={"priority": "high", "version": case["version"] + 1},
        headers={**agent, "If-Match": f'"{case["version"]}"'},
    )
    assert problem(response, 422, "validation_error")["details"] == {"field": "version"}
    assert client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()["priority"] == "normal"


# --- routing --------------------------------------------------------------------------------


# /api/v2 is Zendesk's API, where a path the desk does not answer is a 501 (test_zendesk_*).
@pytest.mark.one_backend
@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v3/cases", "/api/v1/cases/1/x"])
def test_an_unknown_route_is_a_404_problem(client: TestClient, agent: Headers, path: str) -> None:
    problem(client.get(path, headers=agent), 404, "not_found")
    problem(client.post(path, json={}, headers=agent), 404, "not_found")


@pytest.mark.one_backend
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/api/v1/cases"),
        ("put", "/api/v1/cases/1"),
        ("get", "/api/v1/cases/1/status"),
        ("patch", "/api/v1/products"),
        ("get", "/api/v1/auth/login"),
    ],
)
def test_a_wrong_method_is_a_405_problem(
    client: TestClient, container: Container, agent: Headers, method: str, path: str
) -> None:
    before = row_counts(container)
    response = client.request(method.upper(), path, headers=agent)
    problem(response, 405, "method_not_allowed")
    assert response.headers["allow"]
    assert row_counts(container) == before


# --- size limits ----------------------------------------------------------------------------


@pytest.fixture
def small_body_client(
    settings: Settings, clock: ManualClock, container: Container
) -> Iterator[TestClient]:
    """An app on the same database that accepts request bodies up to 2 KiB."""
    tight = bootstrap(
        Settings(database_url=settings.database_url, max_body_bytes=2048, log_level="warning"),
        clock=clock,
    )
    with TestClient(create_app(container=tight)) as small:
        yield small


@pytest.mark.one_backend
def test_oversized_bodies_are_413_with_or_without_content_length(
    small_body_client: TestClient,
    container: Container,
    agent: Headers,
    customer: dict[str, Any],
) -> None:
    headers = {**agent, "content-type": "application/json"}
    small = json.dumps({"customer_id": customer["id"], "subject": "fits"}).encode()
    big = json.dumps({"customer_id": customer["id"], "subject": "x", "body": "y" * 5000}).encode()
    before = row_counts(container)

    declared = small_body_client.post("/api/v1/cases", content=big, headers=headers)
    problem(declared, 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]

    streamed = small_body_client.post("/api/v1/cases", content=chunks(), headers=headers)
    assert streamed.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in streamed.request.headers
    problem(streamed, 413, "payload_too_large")

    lying = small_body_client.post(
        "/api/v1/cases", content=big, headers={**headers, "content-length": "10"}
    )
    assert lying.status_code in (400, 413, 422), lying.text
    assert row_counts(container) == before

    def small_chunks() -> Iterator[bytes]:
        yield small[:10]
        yield small[10:]

    accepted = small_body_client.post("/api/v1/cases", content=small_chunks(), headers=headers)
    assert accepted.status_code == 201, accepted.text


# --- odd input never breaks the server ------------------------------------------------------


ODD_CASE_BODIES: list[Any] = [
    {"subject": "x" * 100_000},
    {"subject": "s", "body": "b" * 300_000},
    {"subject": "s", "tags": ["t" * 10_000]},
    {"subject": "s", "order_ids": ["o" * 10_000]},
    {"subject": "s", "custom_fields": {"k" * 10_000: 1}},
    {"subject": "nul\u0000byte"},
    {"subject": "s", "body": "nul\u0000byte"},
    {"subject": "s", "tags": ["nul\u0000"]},
    {"subject": "s", "order_ids": ["#W\u0000"]},
    {"subject": "s", "custom_fields": {"k": "v\u0000"}},
    {"subject": "s", "custom_fields": {"k\u0000": "v"}},
    {"subject": "s", "assignee_id": -1},
    {"subject": "s", "assignee_id": 0},
    {"subject": "s", "assignee_id": 2**31},
    {"subject": "s", "assignee_id": 2**63},
    {"subject": "s", "team_id": 2**64 + 1},
    {"subject": "s", "custom_fields": {"k": 2**64}},
    {"subject": "s", "custom_fields": {"k": -(2**70)}},
    {"subject": "s", "custom_fields": {"k": 1e308}},
    {"subject": "s", "attachments": [{"filename": "\u0000.txt", "content_base64": "aGk="}]},
    {"subject": "s", "body": "b", "attachments": [{"filename": "a", "content_base64": "=="}]},
]


@pytest.mark.parametrize("body", ODD_CASE_BODIES)
def test_odd_case_bodies_never_break_the_server(
    client: TestClient,
    container: Container,
    agent: Headers,
    customer: dict[str, Any],
    body: dict[str, Any],
) -> None:
    response = client.post(
        "/api/v1/cases", json={"customer_id": customer["id"], **body}, headers=agent
    )
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        problem(response, response.status_code, response.json()["code"])
        assert row_counts(container)["cases"] == 0


@pytest.mark.parametrize(
    "raw",
    [
        b'{"customer_id": "c", "subject": "s", "custom_fields": {"k": NaN}}',
        b'{"customer_id": "c", "subject": "s", "custom_fields": {"k": Infinity}}',
        b'{"customer_id": "c", "subject": "s", "custom_fields": {"k": -Infinity}}',
        b'{"customer_id": "c", "subject": "s", "custom_fields": {"k": 1e400}}',
        b'{"customer_id": "c", "subject": "s", "custom_fields": {"k": ' + b"9" * 5000 + b"}}",
        b'{"customer_id": "c", "subject": "\\ud800"}',
        b'{"customer_id": "c", "subject": "s", "subject": "t"}',
        b"[" * 50_000 + b"]" * 50_000,
        b'{"customer_id": "c", "subject": "\xc3\x28"}',
    ],
)
def test_odd_json_never_breaks_the_server(
    client: TestClient, container: Container, agent: Headers, customer: dict[str, Any], raw: bytes
) -> None:
    raw = raw.replace(b'"c"', json.dumps(customer["id"]).encode())
    response = client.post(
        "/api/v1/cases", content=raw, headers={**agent, "content-type": "application/json"}
    )
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        problem(response, response.status_code, response.json()["code"])
        assert row_counts(container)["cases"] == 0


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/cases/-1",
        "/api/v1/cases/0",
        f"/api/v1/cases/{2**63}",
        f"/api/v1/cases/{2**70}",
        "/api/v1/cases/1e3",
        "/api/v1/cases/%00",
        "/api/v1/customers/%00",
        "/api/v1/customers/a%00b/orders",
        "/api/v1/orders/%00",
        "/api/v1/products/%00",
        "/api/v1/customers/" + "x" * 5000,
        "/api/v1/customers/%F0%9F%90%8D",
        "/api/v1/customers/%E2%80%AE",
        "/api/v1/customers/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/customers?q=%00",
        "/api/v1/customers?q=%25%5F%5C",
        "/api/v1/customers?q=" + "q" * 201,
        "/api/v1/cases?q=%00",
        "/api/v1/cases?q=%22%27%3B--%20%2A%28%29%3A%5E~",
        "/api/v1/cases?q=AND%20OR%20NOT%20NEAR",
        "/api/v1/cases?customer_id=%00",
        "/api/v1/cases?tag=%00",
        "/api/v1/cases?status=archived",
        "/api/v1/cases?assignee_id=-5",
        f"/api/v1/cases?team_id={2**63}",
        "/api/v1/cases?updated_since=yesterday",
        "/api/v1/cases?updated_since=9999-12-31T23:59:59-23:59",
        "/api/v1/cases?updated_since=0001-01-01T00:00:00%2B23:59",
        "/api/v1/cases?unassigned=maybe",
        f"/api/v1/tokens/{2**63}",
        f"/api/v1/grants/{2**64}",
        "/api/v1/attachments/not-a-hash",
    ],
)
def test_odd_paths_and_queries_never_break_the_server(
    client: TestClient, admin: Headers, customer: dict[str, Any], path: str
) -> None:
    response = client.get(path, headers=admin)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"


def test_odd_customer_input_never_breaks_the_server(
    client: TestClient, container: Container, admin: Headers, customer: dict[str, Any]
) -> None:
    bodies: list[dict[str, Any]] = [
        {**CUSTOMER, "emails": ["nul\u0000@example.com"]},
        {**CUSTOMER, "emails": ["z@example.com"], "first_name": "A\u0000"},
        {**CUSTOMER, "emails": ["z@example.com"], "first_name": "名前 🐍 \u202e"},
        {**CUSTOMER, "emails": ["ü@exämple.com"]},
        {**CUSTOMER, "emails": ["a" * 300 + "@example.com"]},
        {**CUSTOMER, "emails": ["y@example.com"], "phones": ["\u0000"]},
        {**CUSTOMER, "emails": ["y@example.com"], "tier": "\u0000"},
        {**CUSTOMER, "emails": ["y@example.com"], "addresses": [{"address1": "\u0000"}]},
        {
            **CUSTOMER,
            "emails": ["w@example.com"],
            "payment_methods": [{"id": "pm", "kind": "gift_card", "balance": "1e30"}],
        },
    ]
    for body in bodies:
        response = client.post("/api/v1/customers", json=body, headers=admin)
        assert response.status_code < 500, (body, response.text)
    for patch in (
        {"first_name": "\u0000", "version": 1},
        {"tier": "x" * 1000, "version": 1},
        {"version": 2**70, "tier": "gold"},
        {"version": -(2**70), "tier": "gold"},
    ):
        response = client.patch(f"/api/v1/customers/{customer['id']}", json=patch, headers=admin)
        assert 400 <= response.status_code < 500, (patch, response.text)
    assert client.get(f"/api/v1/customers/{customer['id']}", headers=admin).json() == customer


def test_odd_versions_never_break_the_server(
    client: TestClient, container: Container, agent: Headers, new_case: NewCase
) -> None:
    case = new_case()
    url = f"/api/v1/cases/{case['id']}"
    before = row_counts(container)
    for version in (2**63, 2**70, -(2**70), 0):
        patched = client.patch(url, json={"priority": "high", "version": version}, headers=agent)
        assert 400 <= patched.status_code < 500, patched.text
        moved = client.post(
            f"{url}/status", json={"status": "solved", "version": version}, headers=agent
        )
        assert 400 <= moved.status_code < 500, moved.text
        assigned = client.post(
            f"{url}/assignment", json={"assignee_id": None, "version": version}, headers=agent
        )
        assert 400 <= assigned.status_code < 500, assigned.text
    for etag in (f'"{2**70}"', f'W/"{2**63}"'):
        response = client.patch(url, json={"priority": "high"}, headers={**agent, "If-Match": etag})
        assert 400 <= response.status_code < 500, response.text
    assert row_counts(container) == before
    assert client.get(url, headers=agent).json()["version"] == case["version"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/api/v1/tokens/{big}"),
        ("POST", "/api/v1/agents/{big}/unlock"),
        ("GET", "/api/v1/agents/{big}/audit"),
        ("GET", "/api/v1/calendars/{big}"),
        ("GET", "/api/v1/sla-policies/{big}"),
        ("GET", "/api/v1/webhooks/{big}"),
        ("DELETE", "/api/v1/webhooks/{big}"),
    ],
)
def test_an_id_past_what_its_table_holds_is_a_clear_422(
    client: TestClient, admin: Headers, method: str, path: str
) -> None:
    """Agents, tokens, calendars, SLA policies and webhooks are numbered in 32 bits: a larger
    id is refused before the database is asked (PostgreSQL would fail the query)."""
    response = client.request(method, path.format(big=2**31), headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


def test_a_team_name_longer_than_the_desk_keeps_is_refused_at_every_door(
    client: TestClient, container: Container, admin: Headers
) -> None:
    """A 101-character name was a 500 on PostgreSQL (the column holds 100); now it is a
    clear refusal, through the API and through the service every other door calls."""
    before = row_counts(container)
    too_long = "T" * 101
    problem(
        client.post("/api/v1/teams", json={"name": too_long}, headers=admin),
        422,
        "validation_error",
    )
    with pytest.raises(ValidationFailed):
        auth.create_team(container.uow(), SYSTEM, container.clock.now(), too_long)
    assert row_counts(container) == before
    kept = client.post("/api/v1/teams", json={"name": "  " + "T" * 100 + " "}, headers=admin)
    assert kept.status_code == 201 and kept.json()["name"] == "T" * 100
