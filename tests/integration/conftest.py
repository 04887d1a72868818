"""HTTP-level fixtures: an in-process client on the real database, and tokens per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Role
from caredesk.services import auth
from caredesk.web.app import create_app

Headers = dict[str, str]


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container=container)) as test_client:
        yield test_client


@pytest.fixture
def token_for(container: Container) -> Callable[[Role], Headers]:
    def make(role: Role, agent_id: int | None = None) -> Headers:
        issued = auth.create_token(
            container.uow(),
            SYSTEM,
            container.clock.now(),
            name=f"test-{role.value}",
            role=role,
            agent_id=agent_id,
        )
        return {"Authorization": f"Bearer {issued.secret}"}

    return make


@pytest.fixture
def admin(token_for: Callable[[Role], Headers]) -> Headers:
    return token_for(Role.ADMIN)


@pytest.fixture
def agent(token_for: Callable[[Role], Headers]) -> Headers:
    return token_for(Role.AGENT)


@pytest.fixture
def viewer(token_for: Callable[[Role], Headers]) -> Headers:
    return token_for(Role.VIEWER)


CUSTOMER: dict[str, Any] = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "emails": ["ada@example.com"],
    "phones": ["+44 20 7946 0000"],
    "addresses": [{"address1": "1 Analytical Way", "city": "London", "country": "UK"}],
    "tier": "gold",
}


@pytest.fixture
def customer(client: TestClient, admin: Headers) -> dict[str, Any]:
    response = client.post("/api/v1/customers", json=CUSTOMER, headers=admin)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def new_case(
    client: TestClient, agent: Headers, customer: dict[str, Any]
) -> Callable[..., dict[str, Any]]:
    def make(**fields: Any) -> dict[str, Any]:
        payload = {"customer_id": customer["id"], "subject": "Printer stopped working", **fields}
        response = client.post("/api/v1/cases", json=payload, headers=agent)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    return make
