"""Cases through the HTTP API on a real database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import ManualClock
from tests.integration.conftest import Headers

NewCase = Callable[..., dict[str, Any]]


def test_create_case_with_first_message_and_read_it_back(
    client: TestClient, agent: Headers, customer: dict[str, Any]
) -> None:
    response = client.post(
        "/api/v1/cases",
        json={
            "customer_id": customer["id"],
            "subject": "LabelWriter stopped after OS upgrade",
            "body": "My label printer no longer prints since I upgraded.",
            "tags": ["Printer", "os-upgrade"],
            "priority": "high",
            "custom_fields": {"model": "LabelWriter 350"},
        },
        headers=agent,
    )
    assert response.status_code == 201
    created = response.json()
    assert response.headers["Location"] == f"/api/v1/cases/{created['id']}"
    assert created["status"] == "new"
    assert created["tags"] == ["os-upgrade", "printer"]
    assert [m["kind"] for m in created["messages"]] == ["inbound"]

    fetched = client.get(f"/api/v1/cases/{created['id']}", headers=agent)
    assert fetched.status_code == 200
    assert fetched.headers["ETag"] == f'"{created["version"]}"'
    assert fetched.json()["messages"][0]["body"].startswith("My label printer")
    fields = fetched.json()["custom_fields"]
    # The agent's own field is kept; triage adds what it learned beside it.
    assert fields["model"] == "LabelWriter 350"
    assert fields["public_risk"] is False
    assert fields["sentiment"] < 0


def test_reply_opens_a_new_case_and_note_stays_internal(
    client: TestClient, agent: Headers, new_case: NewCase
) -> None:
    case = new_case(body="Where is my order?")
    reply = client.post(
        f"/api/v1/cases/{case['id']}/messages",
        json={"kind": "outbound", "body": "It ships today."},
        headers=agent,
    )
    note = client.post(
        f"/api/v1/cases/{case['id']}/notes", json={"body": "Checked the carrier."}, headers=agent
    )
    assert reply.status_code == 201
    assert note.status_code == 201
    assert note.json()["kind"] == "note"
    fetched = client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()
    assert fetched["status"] == "open"
    assert [m["kind"] for m in fetched["messages"]] == ["inbound", "outbound", "note"]


def test_status_changes_follow_the_allowed_transitions(
    client: TestClient, agent: Headers, new_case: NewCase
) -> None:
    case = new_case()
    url = f"/api/v1/cases/{case['id']}/status"
    assert client.post(url, json={"status": "solved"}, headers=agent).json()["status"] == "solved"
    assert client.post(url, json={"status": "closed"}, headers=agent).json()["status"] == "closed"

    refused = client.post(url, json={"status": "open"}, headers=agent)
    assert refused.status_code == 409
    problem = refused.json()
    assert refused.headers["content-type"] == "application/problem+json"
    assert problem["code"] == "invalid_transition"
    assert problem["details"] == {"from": "closed", "to": "open", "allowed": []}
    assert client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()["status"] == "closed"


def test_a_message_on_a_closed_case_is_refused_and_not_written(
    client: TestClient, agent: Headers, new_case: NewCase
) -> None:
    case = new_case()
    for status in ("solved", "closed"):
        client.post(f"/api/v1/cases/{case['id']}/status", json={"status": status}, headers=agent)
    response = client.post(
        f"/api/v1/cases/{case['id']}/messages", json={"body": "late reply"}, headers=agent
    )
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()["messages"] == []


def test_assignment_to_an_agent_and_team(
    client: TestClient, admin: Headers, agent: Headers, new_case: NewCase
) -> None:
    team = client.post("/api/v1/teams", json={"name": "Tier 2"}, headers=admin).json()
    someone = client.post(
        "/api/v1/agents",
        json={"email": "sam@desk.example", "name": "Sam", "role": "agent", "teams": ["Tier 2"]},
        headers=admin,
    ).json()
    case = new_case()
    assigned = client.post(
        f"/api/v1/cases/{case['id']}/assignment",
        json={"assignee_id": someone["id"], "team_id": team["id"]},
        headers=agent,
    )
    assert assigned.status_code == 200
    assert assigned.json()["assignee_id"] == someone["id"]
    assert assigned.json()["team_id"] == team["id"]
    assert assigned.json()["status"] == "open"

    unknown = client.post(
        f"/api/v1/cases/{case['id']}/assignment", json={"assignee_id": 9999}, headers=agent
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not_found"


def test_list_filters_and_cursor_pagination(
    client: TestClient, agent: Headers, new_case: NewCase, clock: ManualClock
) -> None:
    made = []
    for i in range(7):
        clock.advance(minutes=1)
        made.append(new_case(subject=f"case {i}", tags=["vip"] if i % 2 else []))
    client.post(f"/api/v1/cases/{made[0]['id']}/status", json={"status": "pending"}, headers=agent)

    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/cases", params=params, headers=agent).json()
        seen.extend(c["id"] for c in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(c["id"] for c in made)
    assert len(seen) == len(set(seen))

    tagged = client.get("/api/v1/cases", params={"tag": "vip"}, headers=agent).json()["items"]
    assert {c["id"] for c in tagged} == {made[i]["id"] for i in (1, 3, 5)}
    pending = client.get("/api/v1/cases", params={"status": "pending"}, headers=agent).json()
    assert [c["id"] for c in pending["items"]] == [made[0]["id"]]
    since = made[4]["updated_at"]
    recent = client.get("/api/v1/cases", params={"updated_since": since}, headers=agent).json()
    assert {c["id"] for c in recent["items"]} >= {made[5]["id"], made[6]["id"]}
    assert made[3]["id"] not in {c["id"] for c in recent["items"]}


def test_full_text_search_on_subject_and_messages(
    client: TestClient, agent: Headers, new_case: NewCase
) -> None:
    printer = new_case(subject="LabelWriter offline", body="nothing prints")
    parcel = new_case(subject="Where is my parcel", body="The tracking shows no movement")
    client.post(
        f"/api/v1/cases/{parcel['id']}/messages",
        json={"kind": "inbound", "body": "The courier left a card, mentioning customs"},
        headers=agent,
    )

    def search(q: str) -> set[int]:
        page = client.get("/api/v1/cases", params={"q": q}, headers=agent).json()
        return {c["id"] for c in page["items"]}

    assert search("labelwriter") == {printer["id"]}
    assert search("customs") == {parcel["id"]}
    assert search("tracking movement") == {parcel["id"]}
    assert search('"; DROP TABLE cases; --') == set()
    assert search("prints") == {printer["id"]}


def test_audit_trail_records_each_change_with_before_and_after(
    client: TestClient, agent: Headers, new_case: NewCase
) -> None:
    case = new_case()
    client.patch(
        f"/api/v1/cases/{case['id']}",
        json={"priority": "urgent", "version": case["version"]},
        headers=agent,
    )
    client.post(f"/api/v1/cases/{case['id']}/notes", json={"body": "called"}, headers=agent)
    trail = client.get(f"/api/v1/cases/{case['id']}/audit", headers=agent).json()
    # Triage runs in the creating transaction and is audited as the system's own act.
    assert [e["action"] for e in trail] == [
        "case.created",
        "case.triaged",
        "case.updated",
        "message.note",
    ]
    assert trail[1]["actor"] == "system"
    assert trail[2]["before"] == {"priority": "normal"}
    assert trail[2]["after"] == {"priority": "urgent"}
    assert trail[2]["actor"].startswith("token:")


def test_attachments_are_stored_once_by_content_hash(
    client: TestClient, agent: Headers, new_case: NewCase
) -> None:
    import base64

    case = new_case()
    photo = base64.b64encode(b"\x89PNG fake image bytes").decode()
    first = client.post(
        f"/api/v1/cases/{case['id']}/messages",
        json={
            "kind": "inbound",
            "body": "photo attached",
            "attachments": [
                {"filename": "a.png", "content_type": "image/png", "content_base64": photo}
            ],
        },
        headers=agent,
    ).json()
    second = client.post(
        f"/api/v1/cases/{case['id']}/notes",
        json={"attachments": [{"filename": "same.png", "content_base64": photo}]},
        headers=agent,
    ).json()
    assert first["attachments"][0]["sha256"] == second["attachments"][0]["sha256"]
    download = client.get(first["attachments"][0]["url"], headers=agent)
    assert download.status_code == 200
    assert download.content == b"\x89PNG fake image bytes"
    assert download.headers["content-disposition"] == "attachment"
