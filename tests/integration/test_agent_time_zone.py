"""Each agent reads times in their own zone (or the desk's): set by the agent or an admin."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Role
from caredesk.services.access import auth
from caredesk.services.cases import cases
from caredesk.services.cases.ports import CaseFilter
from tests.integration.conftest import Headers
from tests.integration.demo_store import load_demo_store

PASSWORD = "time-zone-password"


def _agent(container: Container, email: str, role: Role = Role.AGENT) -> int:
    agent = auth.create_agent(
        container.uow(),
        SYSTEM,
        container.hasher,
        container.clock.now(),
        email=email,
        name=email.split("@")[0],
        role=role,
        password=PASSWORD,
    )
    assert agent.id is not None
    return agent.id


def test_an_agent_sets_their_own_zone_and_an_admin_anyones(
    client: TestClient, container: Container, token_for: Callable[..., Headers]
) -> None:
    ann, bob = _agent(container, "ann@desk.example"), _agent(container, "bob@desk.example")
    as_ann = token_for(Role.AGENT, ann)
    own = client.patch(f"/api/v1/agents/{ann}", json={"time_zone": "Europe/Berlin"}, headers=as_ann)
    assert own.status_code == 200, own.text
    assert own.json()["time_zone"] == "Europe/Berlin"

    other = client.patch(f"/api/v1/agents/{bob}", json={"time_zone": "Asia/Tokyo"}, headers=as_ann)
    assert other.status_code == 403
    assert other.json()["code"] == "forbidden"

    unknown = client.patch(
        f"/api/v1/agents/{ann}", json={"time_zone": "Mars/Olympus"}, headers=as_ann
    )
    assert unknown.status_code == 422
    assert unknown.json()["details"]["field"] == "time_zone"

    by_admin = client.patch(
        f"/api/v1/agents/{bob}", json={"time_zone": "Asia/Tokyo"}, headers=token_for(Role.ADMIN)
    )
    assert by_admin.status_code == 200, by_admin.text
    back = client.patch(f"/api/v1/agents/{ann}", json={"time_zone": None}, headers=as_ann)
    assert back.json()["time_zone"] is None
    zones = {a.id: a.time_zone for a in auth.list_agents(container.uow(), SYSTEM)}
    assert zones[ann] is None and zones[bob] == "Asia/Tokyo"
    with container.uow() as uow:
        trail = [e.action for e in uow.audit.for_entity("agent", str(bob))]
    assert "agent.updated" in trail


def _sign_in(client: TestClient, email: str) -> None:
    form = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
    assert token is not None
    done = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "login_csrf": token.group(1), "next": "/queue"},
    )
    assert done.status_code == 303, done.text


@pytest.mark.one_backend
def test_the_console_shows_times_in_the_agents_zone_and_an_admin_sets_it(
    container: Container,
) -> None:
    from caredesk.web.app import create_app

    load_demo_store(
        container,
        seed=5,
        customers=0,
        admin_email="root@desk.example",
        admin_password=PASSWORD,
    )
    case = cases.list_cases(container.uow(), SYSTEM, CaseFilter(), 1, None).items[0]
    ann = _agent(container, "ann@desk.example")
    with TestClient(create_app(container=container), follow_redirects=False) as console:
        _sign_in(console, "ann@desk.example")
        assert " UTC" in console.get(f"/cases/{case.id}").text  # the desk's zone

        _sign_in(console, "root@desk.example")
        page = console.get("/admin/agents")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        wrong = console.post(
            f"/admin/agents/{ann}/time-zone",
            data={"csrf_token": csrf.group(1), "time_zone": "Nowhere/Else"},
        )
        assert wrong.status_code == 422
        assert "unknown time zone" in wrong.text
        saved = console.post(
            f"/admin/agents/{ann}/time-zone",
            data={"csrf_token": csrf.group(1), "time_zone": "Asia/Tokyo"},
        )
        assert saved.status_code == 303, saved.text

        _sign_in(console, "ann@desk.example")
        shown = console.get(f"/cases/{case.id}").text
        assert " JST" in shown and " UTC" not in shown


@pytest.mark.one_backend
def test_any_agent_sets_their_own_zone_on_their_settings_page(container: Container) -> None:
    from caredesk.web.app import create_app

    load_demo_store(
        container,
        seed=5,
        customers=0,
        admin_email="root@desk.example",
        admin_password=PASSWORD,
    )
    case = cases.list_cases(container.uow(), SYSTEM, CaseFilter(), 1, None).items[0]
    vic = _agent(container, "vic@desk.example", Role.VIEWER)  # reads only, yet owns its zone
    with TestClient(create_app(container=container), follow_redirects=False) as console:
        _sign_in(console, "vic@desk.example")
        page = console.get("/settings")
        assert page.status_code == 200
        assert 'href="/settings"' in page.text and "UTC" in page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        wrong = console.post(
            "/settings/time-zone", data={"csrf_token": csrf.group(1), "time_zone": "Nowhere/Else"}
        )
        assert wrong.status_code == 422
        assert "unknown time zone" in wrong.text and 'value="Nowhere/Else"' in wrong.text
        forged = console.post("/settings/time-zone", data={"time_zone": "Asia/Tokyo"})
        assert forged.status_code == 403
        saved = console.post(
            "/settings/time-zone", data={"csrf_token": csrf.group(1), "time_zone": "Asia/Tokyo"}
        )
        assert saved.status_code == 303 and saved.headers["location"] == "/settings?notice=saved"
        assert " JST" in console.get(f"/cases/{case.id}").text
        console.post("/settings/time-zone", data={"csrf_token": csrf.group(1), "time_zone": ""})
        assert " UTC" in console.get(f"/cases/{case.id}").text
    zones = {a.id: a.time_zone for a in auth.list_agents(container.uow(), SYSTEM)}
    assert zones[vic] is None
