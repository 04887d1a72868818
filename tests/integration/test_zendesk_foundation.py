"""/api/v2's foundation: who may call it and how, the user-id surrogate, Zendesk's error
shapes and the 501 for what the desk does not answer."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Role
from caredesk.domain.errors import ValidationFailed
from caredesk.services.access import auth
from caredesk.services.cases import cases
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.zendesk import users
from caredesk.services.zendesk.ports import UserRef
from tests.conftest import ManualClock
from tests.integration.test_rate_limits import client_of, limited

Headers = dict[str, str]


def _agent(
    container: Container, email: str = "zoe@caredesk.example", role: Role = Role.AGENT
) -> int:
    agent = auth.create_agent(
        container.uow(),
        SYSTEM,
        container.hasher,
        container.clock.now(),
        email=email,
        name="Zoe Agent",
        role=role,
        password="correct horse battery",
    )
    assert agent.id is not None
    return agent.id


def _secret(container: Container, agent_id: int | None, **fields: Any) -> str:
    issued = auth.create_token(
        container.uow(),
        SYSTEM,
        container.clock.now(),
        name="zendesk-client",
        role=Role.AGENT,
        agent_id=agent_id,
        **fields,
    )
    return issued.secret


def _basic(user: str, secret: str) -> Headers:
    raw = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def _refusal(response: Any, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["error"] == error
    assert isinstance(body["description"], str) and body["description"]
    return body


def test_users_me_is_the_tokens_agent_with_one_stable_id(
    client: TestClient, container: Container
) -> None:
    agent_id = _agent(container)
    bearer = {"Authorization": f"Bearer {_secret(container, agent_id)}"}

    first = client.get("/api/v2/users/me.json", headers=bearer)
    assert first.status_code == 200, first.text
    user = first.json()["user"]
    assert (user["email"], user["role"], user["name"]) == (
        "zoe@caredesk.example",
        "agent",
        "Zoe Agent",
    )
    assert isinstance(user["id"], int)
    assert user["url"] == f"http://testserver/api/v2/users/{user['id']}.json"
    assert client.get("/api/v2/users/me.json", headers=bearer).json()["user"]["id"] == user["id"]


def test_basic_auth_takes_an_agents_token_in_zendesks_form(
    client: TestClient, container: Container
) -> None:
    agent_id = _agent(container)
    secret = _secret(container, agent_id)

    ok = client.get("/api/v2/users/me.json", headers=_basic("Zoe@caredesk.example/token", secret))
    assert ok.status_code == 200, ok.text
    assert ok.json()["user"]["email"] == "zoe@caredesk.example"

    other = _agent(container, "other@caredesk.example")
    stolen = client.get(
        "/api/v2/users/me.json", headers=_basic("other@caredesk.example/token", secret)
    )
    assert (
        "not the token of other@caredesk.example"
        in _refusal(stolen, 401, "Couldn't authenticate you")["description"]
    )
    assert other != agent_id
    unknown = client.get("/api/v2/users/me.json", headers=_basic("nobody@x.example/token", secret))
    _refusal(unknown, 401, "Couldn't authenticate you")


def test_a_password_over_basic_auth_is_refused_with_what_to_send_instead(
    client: TestClient, container: Container
) -> None:
    _agent(container)
    refused = client.get(
        "/api/v2/users/me.json", headers=_basic("zoe@caredesk.example", "correct horse battery")
    )
    body = _refusal(refused, 401, "Couldn't authenticate you")
    assert "passwords are not accepted" in body["description"]
    assert "{email}/token:{token}" in body["description"]
    assert "Basic" in refused.headers["www-authenticate"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer cdk_not-a-token"},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Digest abc"},
    ],
)
def test_missing_or_bad_credentials_are_zendesks_401(client: TestClient, headers: Headers) -> None:
    _refusal(client.get("/api/v2/groups.json", headers=headers), 401, "Couldn't authenticate you")


def test_a_customer_bound_or_tool_scoped_token_is_refused_as_on_api_v1(
    client: TestClient, container: Container, customer: dict[str, Any]
) -> None:
    bound = _secret(container, None, customer_id=customer["id"])
    tools = _secret(container, None, tools=["find_user_id_by_email"])
    for secret in (bound, tools):
        refused = client.get("/api/v2/groups.json", headers={"Authorization": f"Bearer {secret}"})
        assert "tool API" in _refusal(refused, 403, "Forbidden")["description"]


def test_a_token_of_no_agent_is_zendesks_anonymous_user(client: TestClient, admin: Headers) -> None:
    user = client.get("/api/v2/users/me.json", headers=admin).json()["user"]
    assert user["id"] is None and user["role"] == "anonymous"
    assert user["user_fields"] == {"caredesk_role": "admin"}


def test_groups_are_the_teams(client: TestClient, container: Container, agent: Headers) -> None:
    for name in ("Billing", "Returns"):
        auth.create_team(container.uow(), SYSTEM, container.clock.now(), name)
    body = client.get("/api/v2/groups.json", headers=agent).json()
    assert [g["name"] for g in body["groups"]] == ["Billing", "Returns"]
    assert body["count"] == 2 and body["next_page"] is None
    assert body["groups"][0]["url"].startswith("http://testserver/api/v2/groups/")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v2/macros.json"),
        ("DELETE", "/api/v2/groups.json"),
        ("POST", "/api/v2/users/me.json"),
        ("GET", "/api/v2/"),
    ],
)
def test_any_other_zendesk_request_is_a_501_naming_the_endpoint(
    client: TestClient, agent: Headers, method: str, path: str
) -> None:
    response = client.request(method, path, headers=agent)
    assert response.status_code == 501, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "not_supported"
    assert body["endpoint"] == f"{method} {path}"
    assert f"{method} {path}" in body["detail"]


def test_a_caller_over_its_rate_gets_429_with_retry_after(
    container: Container, clock: ManualClock
) -> None:
    agent_id = _agent(container)
    headers = {"Authorization": f"Bearer {_secret(container, agent_id, rate_limit='2/hour')}"}
    with limited(container, clock) as desk, client_of(desk) as c:
        for _ in range(2):
            assert c.get("/api/v2/users/me.json", headers=headers).status_code == 200
        refused = c.get("/api/v2/users/me.json", headers=headers)
        _refusal(refused, 429, "TooManyRequests")
        assert int(refused.headers["retry-after"]) > 0


def test_a_flood_from_one_address_is_refused_before_anything_runs(
    container: Container, clock: ManualClock
) -> None:
    with limited(container, clock, rate_limit_per_client="2/hour") as desk, client_of(desk) as c:
        for _ in range(2):
            c.get("/api/v2/groups.json")
        refused = c.get("/api/v2/groups.json")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0


def test_user_ids_are_given_once_and_shared_by_customers_and_agents(
    container: Container, customer: dict[str, Any]
) -> None:
    agent_id = _agent(container)
    people = [UserRef.customer(customer["id"]), UserRef.agent(agent_id)]

    def ids() -> dict[UserRef, int]:
        return users.user_ids(
            container.uow.read_only(), container.uow(), SYSTEM, container.clock.now(), people
        )

    first = ids()
    assert set(first) == set(people)
    assert len(set(first.values())) == 2
    assert ids() == first
    with container.uow() as uow:
        # A second writer that saw none of them gives none again.
        uow.zendesk_users.assign(people, container.clock.now())
        uow.commit()
    assert ids() == first
    assert users.people_of(container.uow.read_only(), SYSTEM, [*first.values(), 10**9]) == {
        v: k for k, v in first.items()
    }


def test_a_user_ref_is_a_customer_or_an_agent() -> None:
    with pytest.raises(ValueError, match="a customer or an agent"):
        UserRef()
    with pytest.raises(ValueError, match="a customer or an agent"):
        UserRef(customer_id="c", agent_id=1)


def test_a_case_keeps_the_external_id_it_is_given_and_is_found_by_it(
    container: Container, customer: dict[str, Any]
) -> None:
    now = container.clock.now()
    view = cases.create_case(
        container.uow(), SYSTEM, now, customer_id=customer["id"], subject="Hi", external_id="zd-7"
    )
    assert view.case.id is not None and view.case.external_id == "zd-7"
    cases.create_case(container.uow(), SYSTEM, now, customer_id=customer["id"], subject="Other")

    def found(external_id: str) -> list[int | None]:
        page = cases.list_cases(
            container.uow.read_only(), SYSTEM, CaseFilter(external_id=external_id), 10, None
        )
        return [c.id for c in page.items]

    assert found("zd-7") == [view.case.id]
    changed = cases.update_case(
        container.uow(),
        SYSTEM,
        now,
        view.case.id,
        expected_version=view.case.version,
        changes={"external_id": "zd-8"},
    )
    assert changed.external_id == "zd-8" and found("zd-7") == [] and found("zd-8") == [view.case.id]
    trail = cases.case_audit_trail(container.uow.read_only(), SYSTEM, view.case.id)
    assert trail[-1].before == {"external_id": "zd-7"} and trail[-1].after == {
        "external_id": "zd-8"
    }
    with pytest.raises(ValidationFailed):
        cases.create_case(
            container.uow(),
            SYSTEM,
            now,
            customer_id=customer["id"],
            subject="x",
            external_id="x" * 256,
        )
