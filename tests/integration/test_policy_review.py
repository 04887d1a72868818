"""Four eyes on money over REST: an empty policy is refused unless forced, a loosening change
waits for another admin, a stale or self-confirmed change is refused, tightening goes in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Role
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.services.engine import policy
from tests.integration.conftest import Headers
from tests.integration.money_store import add_agent

DEFAULT_VERSION = "default-2026.12"
TokenFor = Callable[..., Headers]


def _default(version: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(policy.packaged_policy_text("default"))
    data["version"] = version
    return data


def _put(client: TestClient, headers: Headers, data: dict[str, Any], **body: Any) -> Any:
    return client.put(
        "/api/v1/policy", json={"text": yaml.safe_dump(data), **body}, headers=headers
    )


def _in_force(client: TestClient, headers: Headers) -> str:
    version: str = client.get("/api/v1/policy", headers=headers).json()["version"]
    return version


def _audit(container: Container, entity_type: str, entity_id: object) -> list[str]:
    with container.uow() as uow:
        return [e.action for e in uow.audit.for_entity(entity_type, str(entity_id))]


@pytest.fixture
def admins(container: Container, token_for: TokenFor) -> tuple[Headers, Headers]:
    """Two admins, each with a token issued to their own agent."""
    first = add_agent(container, "ada@desk.example", Role.ADMIN)
    second = add_agent(container, "bea@desk.example", Role.ADMIN)
    return token_for(Role.ADMIN, first.agent_id), token_for(Role.ADMIN, second.agent_id)


def test_a_policy_that_is_only_a_version_is_refused(
    client: TestClient, admins: tuple[Headers, Headers], container: Container
) -> None:
    first, _ = admins
    refused = client.put("/api/v1/policy", json={"text": "version: x\n"}, headers=first)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "policy_empty"
    assert "declares no remedies" in refused.json()["detail"]
    assert _in_force(client, first) == DEFAULT_VERSION
    assert client.get("/api/v1/policy/changes", headers=first).json() == []
    assert _audit(container, "policy", "x") == []


def test_a_policy_whose_remedies_nobody_may_grant_is_refused(
    client: TestClient, admins: tuple[Headers, Headers]
) -> None:
    first, _ = admins
    data = _default("nobody-grants")
    data["authority"] = {"viewer": {"per_grant": 0, "per_case": 0, "per_day": 0}}
    refused = _put(client, first, data)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "policy_empty"
    assert refused.json()["details"]["reasons"] == [
        "no role has authority to grant any of its remedies"
    ]
    assert _in_force(client, first) == DEFAULT_VERSION


def test_a_forced_empty_policy_is_audited_and_still_needs_another_admin(
    client: TestClient, admins: tuple[Headers, Headers], container: Container
) -> None:
    first, second = admins
    forced = client.put(
        "/api/v1/policy", json={"text": "version: x\n", "force": True}, headers=first
    )
    assert forced.status_code == 202, forced.text
    change = forced.json()
    assert change["forced"] is True
    assert "refund-full" in change["remedies_removed"]
    assert _audit(container, "policy", "x") == ["policy.forced"]
    assert _in_force(client, first) == DEFAULT_VERSION
    confirmed = client.post(
        f"/api/v1/policy/changes/{change['id']}/confirm", json={}, headers=second
    )
    assert confirmed.status_code == 200, confirmed.text
    assert _in_force(client, first) == "x"
    assert _audit(container, "policy", "x") == ["policy.forced", "policy.activated"]


def test_the_system_forces_an_empty_policy_in_at_once_and_it_is_audited(
    container: Container,
) -> None:
    policy.ensure_policy(
        container.uow(), SYSTEM, container.clock.now(), policy.packaged_policy_text()
    )
    with pytest.raises(policy.PolicyEmpty):
        policy.load_policy(container.uow(), SYSTEM, container.clock.now(), "version: x\n")
    policy.load_policy(container.uow(), SYSTEM, container.clock.now(), "version: x\n", force=True)
    assert policy.active_policy(container.uow()).version == "x"
    assert _audit(container, "policy", "x") == ["policy.forced", "policy.activated"]


def test_raising_a_limit_waits_for_another_admin_with_its_differences(
    client: TestClient, admins: tuple[Headers, Headers], container: Container
) -> None:
    first, second = admins
    data = _default("agents-500")
    data["authority"]["agent"]["per_grant"] = 500
    proposed = _put(client, first, data)
    assert proposed.status_code == 202, proposed.text
    change = proposed.json()
    assert change["status"] == "pending"
    assert change["base_version"] == DEFAULT_VERSION
    assert change["differences"] == [
        {
            "path": "authority.agent.per_grant",
            "change": "changed",
            "before": "100",
            "after": "500",
            "effect": "loosens",
        }
    ]
    assert _in_force(client, first) == DEFAULT_VERSION
    listed = client.get("/api/v1/policy/changes", headers=second).json()
    assert [c["id"] for c in listed] == [change["id"]]

    own = client.post(f"/api/v1/policy/changes/{change['id']}/confirm", json={}, headers=first)
    assert own.status_code == 403, own.text
    assert own.json()["code"] == "own_request"
    assert _in_force(client, first) == DEFAULT_VERSION
    assert (
        client.get(f"/api/v1/policy/changes/{change['id']}", headers=first).json()["status"]
        == "pending"
    )

    confirmed = client.post(
        f"/api/v1/policy/changes/{change['id']}/confirm", json={"note": "ok"}, headers=second
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["decided_by"] != change["proposed_by"]
    assert _in_force(client, first) == "agents-500"
    assert _audit(container, "policy_change", change["id"]) == [
        "policy.proposed",
        "policy.confirmed",
    ]
    assert _audit(container, "policy", "agents-500") == ["policy.activated"]
    again = client.post(f"/api/v1/policy/changes/{change['id']}/confirm", json={}, headers=second)
    assert again.status_code == 409
    assert again.json()["code"] == "policy_change_decided"


def test_a_second_token_of_the_proposer_or_a_token_of_nobody_cannot_confirm(
    client: TestClient, container: Container, token_for: TokenFor
) -> None:
    ada = add_agent(container, "ada@desk.example", Role.ADMIN)
    data = _default("agents-500")
    data["authority"]["agent"]["per_grant"] = 500
    change = _put(client, token_for(Role.ADMIN, ada.agent_id), data).json()
    same_person = client.post(
        f"/api/v1/policy/changes/{change['id']}/confirm",
        json={},
        headers=token_for(Role.ADMIN, ada.agent_id),
    )
    assert same_person.status_code == 403
    assert same_person.json()["code"] == "own_request"
    nobody = client.post(
        f"/api/v1/policy/changes/{change['id']}/confirm", json={}, headers=token_for(Role.ADMIN)
    )
    assert nobody.status_code == 403
    assert nobody.json()["code"] == "forbidden"
    assert _in_force(client, token_for(Role.ADMIN)) == DEFAULT_VERSION


def test_an_admin_cannot_mint_a_token_for_another_admin_to_confirm_their_own_change(
    client: TestClient, container: Container, token_for: TokenFor
) -> None:
    ada = add_agent(container, "ada@desk.example", Role.ADMIN)
    bea = add_agent(container, "bea@desk.example", Role.ADMIN)
    ada_token = token_for(Role.ADMIN, ada.agent_id)
    data = _default("agents-600")
    data["authority"]["agent"]["per_grant"] = 600
    assert _put(client, ada_token, data).status_code == 202
    as_bea = client.post(
        "/api/v1/tokens",
        json={"name": "as bea", "role": "admin", "agent_id": bea.agent_id},
        headers=ada_token,
    )
    assert as_bea.status_code == 403, as_bea.text
    assert as_bea.json()["details"] == {"field": "agent_id"}
    own = client.post(
        "/api/v1/tokens",
        json={"name": "mine", "role": "admin", "agent_id": ada.agent_id},
        headers=ada_token,
    )
    assert own.status_code == 201, own.text
    names = [t["name"] for t in client.get("/api/v1/tokens", headers=ada_token).json()]
    assert "as bea" not in names and "mine" in names


def test_a_change_compared_with_a_policy_no_longer_in_force_is_stale(
    client: TestClient, admins: tuple[Headers, Headers], container: Container
) -> None:
    first, second = admins
    looser = _default("agents-500")
    looser["authority"]["agent"]["per_grant"] = 500
    wider = _default("caps-wide")
    wider["caps"]["per_order"]["extra"] = 500
    one = _put(client, first, looser).json()
    two = _put(client, first, wider).json()
    assert (
        client.post(
            f"/api/v1/policy/changes/{one['id']}/confirm", json={}, headers=second
        ).status_code
        == 200
    )
    stale = client.post(f"/api/v1/policy/changes/{two['id']}/confirm", json={}, headers=second)
    assert stale.status_code == 409, stale.text
    assert stale.json()["code"] == "policy_stale"
    assert _in_force(client, first) == "agents-500"
    assert (
        client.get(f"/api/v1/policy/changes/{two['id']}", headers=first).json()["status"]
        == "pending"
    )
    assert _audit(container, "policy_change", two["id"]) == ["policy.proposed"]


def test_tightening_goes_in_at_once(
    client: TestClient, admins: tuple[Headers, Headers], container: Container
) -> None:
    first, _ = admins
    data = _default("agents-50")
    data["authority"]["agent"]["per_grant"] = 50
    data["guardrails"]["max_grants_per_customer_90d"] = 3
    loaded = _put(client, first, data)
    assert loaded.status_code == 200, loaded.text
    assert {d["effect"] for d in loaded.json()["differences"]} == {"tightens"}
    assert _in_force(client, first) == "agents-50"
    assert client.get("/api/v1/policy/changes", headers=first).json() == []
    assert _audit(container, "policy", "agents-50") == ["policy.activated"]


def test_a_rejected_change_leaves_the_policy_in_force(
    client: TestClient, admins: tuple[Headers, Headers], container: Container
) -> None:
    first, second = admins
    data = _default("no-refunds")
    data["remedies"] = [r for r in data["remedies"] if r["id"] != "refund-full"]
    for limit in data["authority"].values():
        if limit.get("remedies"):
            limit["remedies"] = [r for r in limit["remedies"] if r != "refund-full"]
    for remedy in data["remedies"]:
        for key in ("excludes", "requires_any"):
            if remedy.get(key):
                remedy[key] = [r for r in remedy[key] if r != "refund-full"]
    change = _put(client, first, data)
    assert change.status_code == 202, change.text
    assert change.json()["remedies_removed"] == ["refund-full"]
    rejected = client.post(
        f"/api/v1/policy/changes/{change.json()['id']}/reject",
        json={"note": "refunds stay"},
        headers=second,
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert _in_force(client, first) == DEFAULT_VERSION
    assert client.get("/api/v1/policy/changes", headers=first).json() == []
    assert [
        c["status"]
        for c in client.get("/api/v1/policy/changes?status=rejected", headers=first).json()
    ] == ["rejected"]
    assert _audit(container, "policy_change", change.json()["id"]) == [
        "policy.proposed",
        "policy.rejected",
    ]


@pytest.mark.one_backend
@pytest.mark.parametrize("role", [Role.LEAD, Role.AGENT, Role.VIEWER])
def test_only_admins_propose_list_and_decide(
    client: TestClient,
    admins: tuple[Headers, Headers],
    container: Container,
    token_for: TokenFor,
    role: Role,
) -> None:
    first, _ = admins
    data = _default("agents-500")
    data["authority"]["agent"]["per_grant"] = 500
    change = _put(client, first, data).json()
    person = add_agent(container, f"{role.value}@desk.example", role)
    headers = token_for(role, person.agent_id)
    tighter = _default("agents-50")
    tighter["authority"]["agent"]["per_grant"] = 50
    for response in (
        _put(client, headers, tighter),
        client.get("/api/v1/policy/changes", headers=headers),
        client.get(f"/api/v1/policy/changes/{change['id']}", headers=headers),
        client.post(f"/api/v1/policy/changes/{change['id']}/confirm", json={}, headers=headers),
        client.post(f"/api/v1/policy/changes/{change['id']}/reject", json={}, headers=headers),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"
    assert _in_force(client, first) == DEFAULT_VERSION
    assert (
        client.get(f"/api/v1/policy/changes/{change['id']}", headers=first).json()["status"]
        == "pending"
    )


@pytest.mark.one_backend
def test_an_unknown_change_is_not_found(
    client: TestClient, admins: tuple[Headers, Headers]
) -> None:
    first, second = admins
    for response in (
        client.get("/api/v1/policy/changes/999", headers=first),
        client.post("/api/v1/policy/changes/999/confirm", json={}, headers=second),
        client.post("/api/v1/policy/changes/999/reject", json={}, headers=second),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_the_desk_setting_itself_up_loosens_at_once_and_nobody_else_skips_the_review(
    container: Container,
) -> None:
    now = container.clock.now()
    policy.ensure_policy(container.uow(), SYSTEM, now, policy.packaged_policy_text())
    looser = _default("demo-like")
    looser["authority"]["agent"]["per_grant"] = 500
    policy.load_policy(container.uow(), SYSTEM, now, yaml.safe_dump(looser))
    assert policy.active_policy(container.uow()).version == "demo-like"
    admin = add_agent(container, "ada@desk.example", Role.ADMIN)
    looser["version"] = "by-hand"
    looser["authority"]["agent"]["per_grant"] = 900
    with pytest.raises(DomainError) as refused:
        policy.load_policy(container.uow(), admin, now, yaml.safe_dump(looser))
    assert refused.value.code is ErrorCode.FORBIDDEN
    proposal = policy.propose_policy(container.uow(), admin, now, yaml.safe_dump(looser))
    assert not proposal.in_force
    assert policy.active_policy(container.uow()).version == "demo-like"
