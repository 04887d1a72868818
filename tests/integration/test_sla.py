"""SLA policies, calendars and clocks through the API: due times, pauses, breaches, moves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.services.core.jobs import HandlerRegistry, Worker, WorkerOptions
from caredesk.services.sla import sla
from tests.conftest import ManualClock
from tests.integration.statements import statements_sent, writes

Headers = dict[str, str]
API = "/api/v1"
# The test clock starts on Monday 2 March 2026 at 09:00 UTC (10:00 in Berlin).
GOLD = {
    "name": "Gold",
    "targets": {"first_reply": 60, "next_reply": 120, "resolution": 480},
    "match": {"tiers": ["gold"]},
    "position": 10,
}


def _policy(client: TestClient, admin: Headers, **fields: Any) -> dict[str, Any]:
    response = client.post(f"{API}/sla-policies", json={**GOLD, **fields}, headers=admin)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _sla(client: TestClient, headers: Headers, case_id: int) -> dict[str, Any]:
    response = client.get(f"{API}/cases/{case_id}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["sla"]
    return body


def _clock(sla_out: dict[str, Any], metric: str, cycle: int = 1) -> dict[str, Any]:
    return next(c for c in sla_out["clocks"] if c["metric"] == metric and c["cycle"] == cycle)


def _worker(container: Container) -> Worker:
    registry = HandlerRegistry()
    sla.register_sla(registry)
    return Worker(
        container.job_context(),
        registry,
        name="test",
        options=WorkerOptions(poll_seconds=0.01),
    )


def _status(client: TestClient, headers: Headers, case_id: int, status: str) -> None:
    response = client.post(
        f"{API}/cases/{case_id}/status", json={"status": status}, headers=headers
    )
    assert response.status_code == 200, response.text


def _message(client: TestClient, headers: Headers, case_id: int, kind: str) -> None:
    response = client.post(
        f"{API}/cases/{case_id}/messages", json={"kind": kind, "body": "hello"}, headers=headers
    )
    assert response.status_code == 201, response.text


def _change_case(
    client: TestClient, headers: Headers, case: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    """PATCH the case at the version it was read; the case as it is after."""
    response = client.patch(
        f"{API}/cases/{case['id']}", json={**fields, "version": case["version"]}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_clocks_follow_reply_pending_and_the_customer_s_answer(
    client: TestClient,
    admin: Headers,
    agent: Headers,
    new_case: Callable[..., dict[str, Any]],
    clock: ManualClock,
) -> None:
    _policy(client, admin)
    case = new_case(body="My printer is broken")
    shown = _sla(client, agent, case["id"])
    assert shown["policy_name"] == "Gold"
    first = _clock(shown, "first_reply")
    assert first["due_at"] == "2026-03-02T10:00:00Z"
    assert first["warn_at"] == "2026-03-02T09:45:00Z"
    assert first["status"] == "running"
    assert _clock(shown, "resolution")["due_at"] == "2026-03-02T17:00:00Z"

    clock.advance(minutes=30)
    _message(client, agent, case["id"], "outbound")  # first reply: met
    _status(client, agent, case["id"], "pending")  # waiting on the customer: paused
    shown = _sla(client, agent, case["id"])
    assert _clock(shown, "first_reply")["status"] == "met"
    assert _clock(shown, "resolution")["status"] == "paused"

    clock.advance(hours=3)
    _message(client, agent, case["id"], "inbound")  # they answer: resumes, a reply is owed
    shown = _sla(client, agent, case["id"])
    resolution = _clock(shown, "resolution")
    assert resolution["status"] == "running"
    # 30 minutes ran before the pause; 450 remain from 12:30.
    assert resolution["due_at"] == "2026-03-02T20:00:00Z"
    assert resolution["elapsed_minutes"] == 30
    next_reply = _clock(shown, "next_reply")
    assert next_reply["due_at"] == "2026-03-02T14:30:00Z"


def test_business_hours_skip_the_night_the_weekend_and_holidays(
    client: TestClient, admin: Headers, agent: Headers, new_case: Callable[..., dict[str, Any]]
) -> None:
    calendar = client.post(
        f"{API}/calendars",
        json={
            "name": "Berlin office",
            "timezone": "Europe/Berlin",
            "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": ["2026-03-03"],
        },
        headers=admin,
    )
    assert calendar.status_code == 201, calendar.text
    _policy(client, admin, calendar_id=calendar.json()["id"], targets={"first_reply": 480})
    case = new_case(body="Where is my parcel?")
    # Monday 10:00 Berlin: 7 hours left that day, Tuesday a holiday, 1 hour on Wednesday.
    due = _clock(_sla(client, agent, case["id"]), "first_reply")["due_at"]
    assert due == "2026-03-04T09:00:00Z"


def test_breaches_are_recorded_at_their_exact_minute_and_warnings_by_the_timer(
    client: TestClient,
    admin: Headers,
    agent: Headers,
    new_case: Callable[..., dict[str, Any]],
    clock: ManualClock,
    container: Container,
) -> None:
    _policy(client, admin, targets={"first_reply": 60}, warn_percent=50)
    case = new_case(body="Still nothing")
    worker = _worker(container)
    clock.advance(minutes=40)
    worker.run_timers()
    trail = client.get(f"{API}/cases/{case['id']}/audit", headers=agent).json()
    warnings = [e for e in trail if e["action"] == "sla.warning"]
    assert [w["after"]["warn_at"] for w in warnings] == ["2026-03-02T09:30:00+00:00"]
    clock.advance(minutes=47, seconds=13)  # the scan runs late: 10:27:13
    worker.run_timers()
    worker.run_timers()  # the same period again: nothing new
    trail = client.get(f"{API}/cases/{case['id']}/audit", headers=agent).json()
    breaches = [e for e in trail if e["action"] == "sla.breached"]
    assert [b["after"]["breached_at"] for b in breaches] == ["2026-03-02T10:00:00+00:00"]
    first = _clock(_sla(client, agent, case["id"]), "first_reply")
    assert (first["status"], first["breached_at"]) == ("breached", "2026-03-02T10:00:00Z")
    assert first["remaining_minutes"] == -28


def test_a_late_reply_records_the_breach_with_the_reply(
    client: TestClient,
    admin: Headers,
    agent: Headers,
    new_case: Callable[..., dict[str, Any]],
    clock: ManualClock,
) -> None:
    _policy(client, admin, targets={"first_reply": 60})
    case = new_case(body="Hello?")
    clock.advance(hours=2)
    _message(client, agent, case["id"], "outbound")
    first = _clock(_sla(client, agent, case["id"]), "first_reply")
    assert (first["status"], first["breached_at"]) == ("breached", "2026-03-02T10:00:00Z")
    trail = client.get(f"{API}/cases/{case['id']}/audit", headers=agent).json()
    assert sum(e["action"] == "sla.breached" for e in trail) == 1


def test_a_case_moves_with_its_priority_and_a_routed_policy(
    client: TestClient,
    admin: Headers,
    agent: Headers,
    new_case: Callable[..., dict[str, Any]],
    clock: ManualClock,
) -> None:
    _policy(client, admin, name="Normal", targets={"first_reply": 240}, match={}, position=50)
    _policy(
        client, admin, name="Urgent", targets={"first_reply": 30}, match={"priorities": ["urgent"]}
    )
    _policy(client, admin, name="VIP", targets={"first_reply": 15}, match={"tags": ["never"]})
    case = new_case(body="Help")
    assert _sla(client, agent, case["id"])["policy_name"] == "Normal"
    clock.advance(minutes=10)
    patched = _change_case(client, agent, case, priority="urgent")
    shown = _sla(client, agent, case["id"])
    assert shown["policy_name"] == "Urgent"
    # The new target counts from the case's start, as if it had always applied.
    assert _clock(shown, "first_reply")["due_at"] == "2026-03-02T09:30:00Z"
    # A routing rule (triage) names the policy in custom_fields: it wins over matching.
    _change_case(client, agent, patched, custom_fields={"sla_policy": "VIP"})
    shown = _sla(client, agent, case["id"])
    assert shown["policy_name"] == "VIP"
    assert _clock(shown, "first_reply")["due_at"] == "2026-03-02T09:15:00Z"


def test_editing_a_policy_moves_open_cases_through_the_worker(
    client: TestClient,
    admin: Headers,
    agent: Headers,
    new_case: Callable[..., dict[str, Any]],
    container: Container,
) -> None:
    policy = _policy(client, admin, targets={"first_reply": 60})
    case = new_case(body="Hi")
    patched = client.patch(
        f"{API}/sla-policies/{policy['id']}",
        json={"targets": {"first_reply": 90}, "version": policy["version"]},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["version"] == 2
    assert _clock(_sla(client, agent, case["id"]), "first_reply")["due_at"] == (
        "2026-03-02T10:00:00Z"
    )
    assert _worker(container).run_once() >= 1
    assert _clock(_sla(client, agent, case["id"]), "first_reply")["due_at"] == (
        "2026-03-02T10:30:00Z"
    )


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"targets": {"first_reply": 0}}, "invalid_sla_policy", "targets.first_reply"),
        ({"targets": {"first_reply": -5}}, "invalid_sla_policy", "targets.first_reply"),
        ({"targets": {}}, "invalid_sla_policy", "targets"),
        ({"warn_percent": 100}, "invalid_sla_policy", "warn_percent"),
        ({"calendar_id": 999}, "invalid_sla_policy", "calendar_id"),
    ],
)
def test_a_bad_policy_is_refused_and_nothing_is_stored(
    client: TestClient, admin: Headers, body: dict[str, Any], code: str, field: str
) -> None:
    response = client.post(f"{API}/sla-policies", json={**GOLD, **body}, headers=admin)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == code
    assert problem["details"]["field"] == field
    assert client.get(f"{API}/sla-policies", headers=admin).json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"hours": {"mon": ["09:00-12:00", "11:00-17:00"]}}, "hours.mon"),
        ({"hours": {"mon": ["17:00-09:00"]}}, "hours.mon"),
        ({"hours": {"funday": ["09:00-17:00"]}}, "hours"),
        ({"hours": {}}, "hours"),
    ],
)
def test_a_bad_calendar_is_refused(
    client: TestClient, admin: Headers, body: dict[str, Any], field: str
) -> None:
    calendar = {"name": "Office", "timezone": "UTC", "hours": {"mon": ["09:00-17:00"]}, **body}
    response = client.post(f"{API}/calendars", json=calendar, headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_calendar"
    assert response.json()["details"]["field"] == field
    assert client.get(f"{API}/calendars", headers=admin).json() == []


def test_only_admins_edit_policies_and_everyone_reads_them(
    client: TestClient, admin: Headers, agent: Headers
) -> None:
    assert client.post(f"{API}/sla-policies", json=GOLD, headers=agent).status_code == 403
    created = _policy(client, admin)
    listed = client.get(f"{API}/sla-policies", headers=agent)
    assert [p["name"] for p in listed.json()] == ["Gold"]
    assert client.get(f"{API}/sla-policies/{created['id']}", headers=agent).status_code == 200
    duplicate = client.post(f"{API}/sla-policies", json=GOLD, headers=admin)
    assert duplicate.status_code == 409
    stale = client.patch(
        f"{API}/sla-policies/{created['id']}", json={"position": 1, "version": 7}, headers=admin
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "version_conflict"


def test_a_case_without_a_policy_shows_untimed_clocks(
    client: TestClient, agent: Headers, new_case: Callable[..., dict[str, Any]]
) -> None:
    case = new_case(body="No SLA here")
    shown = _sla(client, agent, case["id"])
    assert shown["policy_name"] is None
    assert {c["status"] for c in shown["clocks"]} == {"untimed"}


def test_a_change_the_clocks_do_not_depend_on_leaves_them_alone(
    client: TestClient,
    admin: Headers,
    agent: Headers,
    new_case: Callable[..., dict[str, Any]],
    container: Container,
) -> None:
    _policy(client, admin, name="Normal", targets={"first_reply": 240}, match={}, position=50)
    case = new_case(body="Help")
    before = _sla(client, agent, case["id"])
    with statements_sent(container.engine) as written:
        patched = _change_case(client, agent, case, subject="Printer stopped working again")
    assert [s for s in writes(written) if "sla_clocks" in s] == []
    assert _sla(client, agent, case["id"]) == before

    with statements_sent(container.engine) as written:
        _change_case(client, agent, patched, priority="urgent")
    assert [s for s in writes(written) if "sla_clocks" in s] != [], "a new priority is worked out"
