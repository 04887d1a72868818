"""/api/v2 ticket writes: create, update (fields, replies and notes) and uploads, each request
in one transaction and refused in Zendesk's shapes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container, bootstrap
from caredesk.domain.agents import SYSTEM
from caredesk.domain.cases import Channel, MessageKind
from caredesk.domain.mail import MailDirection
from caredesk.services.cases import cases
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.zendesk import users
from caredesk.services.zendesk.ports import UserRef
from caredesk.settings import Settings
from caredesk.web.app import create_app
from tests.conftest import ManualClock
from tests.integration.test_zendesk_foundation import _agent, _refusal, _secret

Headers = dict[str, str]
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


@pytest.fixture
def zoe(container: Container) -> Headers:
    """A token of the agent Zoe: her replies are hers."""
    return {"Authorization": f"Bearer {_secret(container, _agent(container))}"}


def _user_id(container: Container, ref: UserRef) -> int:
    now = container.clock.now()
    return users.user_ids(container.uow.read_only(), container.uow(), SYSTEM, now, {ref})[ref]


def _create(client: TestClient, headers: Headers, **ticket: Any) -> Any:
    body = {"subject": "Printer", "comment": {"body": "It stopped printing."}, **ticket}
    return client.post("/api/v2/tickets.json", json={"ticket": body}, headers=headers)


def _created(client: TestClient, headers: Headers, **ticket: Any) -> dict[str, Any]:
    response = _create(client, headers, **ticket)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _case_count(container: Container) -> int:
    return cases.count_cases(container.uow.read_only(), SYSTEM, CaseFilter())


def _invalid(response: Any, field: str) -> None:
    body = _refusal(response, 422, "RecordInvalid")
    assert field in body["details"], body


def test_a_ticket_for_a_requester_id_is_the_customers_case(
    client: TestClient, container: Container, zoe: Headers, customer: dict[str, Any]
) -> None:
    requester = _user_id(container, UserRef.customer(customer["id"]))
    body = _created(
        client,
        zoe,
        requester_id=requester,
        priority="high",
        tags=["Printer", "urgent"],
        external_id="zd-77",
        custom_fields=[{"id": 360001, "value": "gold"}, {"id": 360002, "value": 3}],
        unknown_field="ignored, as Zendesk ignores it",
    )
    ticket = body["ticket"]
    assert (ticket["requester_id"], ticket["priority"], ticket["status"]) == (
        requester,
        "high",
        "new",
    )
    assert ticket["description"] == "It stopped printing."
    shown = client.get(f"/api/v2/tickets/{ticket['id']}.json", headers=zoe).json()["ticket"]
    assert shown["tags"] == ["printer", "urgent"]
    assert shown["external_id"] == "zd-77"
    assert shown["custom_fields"] == [{"id": 360001, "value": "gold"}, {"id": 360002, "value": 3}]
    view = cases.get_case(container.uow.read_only(), SYSTEM, ticket["id"])
    assert view.case.customer_id == customer["id"]
    (first,) = view.messages
    assert (first.kind, first.author_customer_id) == (MessageKind.INBOUND, customer["id"])
    # The audit: a Create event per field the new ticket has, with Zendesk's names.
    created = {
        e["field_name"]: e["value"] for e in body["audit"]["events"] if e["type"] == "Create"
    }
    assert created["status"] == "new" and created["priority"] == "high"
    assert created["subject"] == "Printer"
    assert body["audit"]["ticket_id"] == ticket["id"]


def test_a_requester_by_email_is_the_customer_who_has_it_or_a_new_one(
    client: TestClient, container: Container, zoe: Headers, customer: dict[str, Any]
) -> None:
    known = _created(client, zoe, requester={"name": "Ada", "email": "ADA@example.com"})
    ada = _user_id(container, UserRef.customer(customer["id"]))
    assert known["ticket"]["requester_id"] == ada
    new = _created(client, zoe, requester={"name": "Grace Hopper", "email": "grace@example.com"})
    requester = new["ticket"]["requester_id"]
    assert requester not in (None, ada)
    person = users.people_of(container.uow.read_only(), SYSTEM, {requester})[requester]
    assert person.customer_id is not None
    user = client.get(f"/api/v2/tickets/{new['ticket']['id']}.json", headers=zoe).json()
    assert user["ticket"]["requester_id"] == requester
    # Asked again, the email names the customer made the first time.
    again = _created(client, zoe, requester={"email": "grace@example.com"})
    assert again["ticket"]["requester_id"] == requester


def test_a_ticket_created_solved_is_solved_at_once(
    client: TestClient, container: Container, zoe: Headers, customer: dict[str, Any]
) -> None:
    body = _created(client, zoe, requester={"email": "ada@example.com"}, status="solved")
    assert body["ticket"]["status"] == "solved"
    trail = cases.case_audit_trail(container.uow.read_only(), SYSTEM, body["ticket"]["id"])
    assert [e.action for e in trail][:2] == ["case.created", "case.status_changed"]
    changed = [e for e in body["audit"]["events"] if e["type"] == "Change"]
    assert {"field_name": "status", "value": "solved", "previous_value": "new"}.items() <= (
        changed[0].items()
    )


def test_a_private_first_comment_is_the_agents_note(
    client: TestClient, container: Container, zoe: Headers, customer: dict[str, Any]
) -> None:
    body = _created(
        client,
        zoe,
        requester={"email": "ada@example.com"},
        comment={"html_body": "<p>Called <b>her</b></p><script>alert(1)</script>", "public": False},
    )
    (note,) = cases.get_case(container.uow.read_only(), SYSTEM, body["ticket"]["id"]).messages
    assert note.kind is MessageKind.NOTE and note.author_agent_id is not None
    # Inbound HTML is cleaned as a mail's: its text is kept, a script's words are not.
    assert note.body == "Called her"
    comments = client.get(f"/api/v2/tickets/{body['ticket']['id']}/comments.json", headers=zoe)
    assert comments.json()["comments"][0]["public"] is False


@pytest.mark.parametrize(
    ("ticket", "field"),
    [
        ({"requester_id": 987654}, "requester"),
        ({"requester": {"email": "ada@example.com"}, "status": "resolved"}, "status"),
        ({"requester": {"email": "ada@example.com"}, "priority": "critical"}, "priority"),
        ({"requester": {"email": "ada@example.com"}, "subject": " "}, "subject"),
        ({"requester": {"email": "ada@example.com"}, "comment": None}, "comment"),
        ({}, "requester"),
        ({"requester": {"email": "ada@example.com"}, "assignee_id": 987654}, "assignee_id"),
        ({"requester": {"email": "ada@example.com"}, "group_id": 4242}, "group_id"),
    ],
)
def test_a_ticket_that_cannot_be_made_is_record_invalid_and_nothing_is_written(
    client: TestClient,
    container: Container,
    zoe: Headers,
    customer: dict[str, Any],
    ticket: dict[str, Any],
    field: str,
) -> None:
    _invalid(_create(client, zoe, **ticket), field)
    assert _case_count(container) == 0


def test_an_agents_user_id_is_no_requester(
    client: TestClient, container: Container, zoe: Headers, customer: dict[str, Any]
) -> None:
    yan = _user_id(container, UserRef.agent(_agent(container, "yan@caredesk.example")))
    _invalid(_create(client, zoe, requester_id=yan), "requester")


def test_a_new_requester_is_not_kept_when_the_ticket_is_refused(
    client: TestClient, container: Container, zoe: Headers
) -> None:
    # A new case cannot be closed at once: the refusal comes after the customer is made.
    refused = _create(client, zoe, requester={"email": "new@example.com"}, status="closed")
    _invalid(refused, "status")
    with container.uow.read_only() as uow:
        assert uow.customers.email_owner("new@example.com") is None
    assert _case_count(container) == 0


def test_a_retried_create_with_the_same_idempotency_key_makes_one_case(
    client: TestClient, container: Container, zoe: Headers, customer: dict[str, Any]
) -> None:
    keyed = {**zoe, "Idempotency-Key": "create-1"}
    first = _created(client, keyed, requester={"email": "ada@example.com"})
    second = _created(client, keyed, requester={"email": "ada@example.com"})
    assert first["ticket"]["id"] == second["ticket"]["id"]
    assert _case_count(container) == 1


def test_an_update_changes_what_it_names_and_the_audit_says_so(
    client: TestClient, container: Container, zoe: Headers, customer: dict[str, Any]
) -> None:
    made = _created(
        client,
        zoe,
        requester={"email": "ada@example.com"},
        tags=["a"],
        custom_fields=[{"id": 1, "value": "x"}, {"id": 2, "value": "y"}],
    )
    ticket_id = made["ticket"]["id"]
    yan = _user_id(container, UserRef.agent(_agent(container, "yan@caredesk.example")))
    sent = {
        "status": "hold",
        "priority": "urgent",
        "tags": ["b", "c"],
        "assignee_id": yan,
        "custom_fields": [{"id": 2, "value": "z"}],
    }
    response = client.put(f"/api/v2/tickets/{ticket_id}.json", json={"ticket": sent}, headers=zoe)
    assert response.status_code == 200, response.text
    ticket = response.json()["ticket"]
    assert (ticket["status"], ticket["priority"], ticket["assignee_id"]) == ("hold", "urgent", yan)
    assert ticket["tags"] == ["b", "c"] and ticket["subject"] == "Printer"
    # Zendesk changes the custom fields sent and keeps the others.
    assert ticket["custom_fields"] == [{"id": 1, "value": "x"}, {"id": 2, "value": "z"}]
    assert ticket["description"] == "It stopped printing."
    changed = {e["field_name"]: e for e in response.json()["audit"]["events"]}
    assert (changed["status"]["previous_value"], changed["status"]["value"]) == ("new", "hold")
    assert changed["assignee_id"]["value"] == yan
    assert changed["tags"]["value"] == ["b", "c"]
    # Nothing of an earlier request is in this one's audit.
    assert all(e["type"] == "Change" for e in response.json()["audit"]["events"])


def test_a_public_comment_is_the_agents_reply_mailed_and_a_private_one_a_note(
    client: TestClient, container: Container, zoe: Headers, customer: dict[str, Any]
) -> None:
    # A case the customer opened by email: its replies are mailed, whichever door sends them.
    view = cases.create_case(
        container.uow(),
        SYSTEM,
        container.clock.now(),
        customer_id=customer["id"],
        subject="Printer",
        body="It stopped printing.",
        channel=Channel.EMAIL,
    )
    ticket_id = view.case.id
    assert ticket_id is not None
    url = f"/api/v2/tickets/{ticket_id}.json"
    reply = {"ticket": {"comment": {"body": "Hold the reset button."}, "status": "pending"}}
    answered = client.put(url, json=reply, headers=zoe)
    assert answered.status_code == 200, answered.text
    events = answered.json()["audit"]["events"]
    (comment,) = [e for e in events if e["type"] == "Comment"]
    assert comment["public"] is True and comment["body"] == "Hold the reset button."
    assert answered.json()["ticket"]["status"] == "pending"
    note = {"ticket": {"comment": {"body": "she sounded upset", "public": False}}}
    assert client.put(url, json=note, headers=zoe).status_code == 200
    messages = cases.get_case(container.uow.read_only(), SYSTEM, ticket_id).messages
    assert [m.kind for m in messages] == [
        MessageKind.INBOUND,
        MessageKind.OUTBOUND,
        MessageKind.NOTE,
    ]
    assert messages[1].author_agent_id is not None
    # A reply sent with `solved` is sent, then the case solved, as "send and mark solved" is.
    solved = {"ticket": {"comment": {"body": "Fixed now."}, "status": "solved"}}
    answered = client.put(url, json=solved, headers=zoe)
    assert answered.json()["ticket"]["status"] == "solved", answered.text
    statuses = [e for e in answered.json()["audit"]["events"] if e.get("field_name") == "status"]
    assert [(e["previous_value"], e["value"]) for e in statuses] == [("pending", "solved")]
    messages = cases.get_case(container.uow.read_only(), SYSTEM, ticket_id).messages
    assert messages[-1].kind is MessageKind.OUTBOUND
    # The replies go to the customer (the note does not), as /api/v1's do.
    with container.uow.read_only() as uow:
        mailed = uow.mail.find(direction=MailDirection.OUT, status=None, limit=10)
    replies = [m.case_message_id for m in mailed if m.case_id == ticket_id]
    assert sorted(replies) == [messages[1].id, messages[3].id]


def test_an_update_refused_at_a_later_step_leaves_nothing(
    client: TestClient, container: Container, zoe: Headers, customer: dict[str, Any]
) -> None:
    ticket_id = _created(client, zoe, requester={"email": "ada@example.com"})["ticket"]["id"]
    before = cases.get_case(container.uow.read_only(), SYSTEM, ticket_id)
    trail = cases.case_audit_trail(container.uow.read_only(), SYSTEM, ticket_id)
    sent = {"priority": "low", "tags": ["x"], "comment": {"body": "hi", "uploads": ["nope"]}}
    refused = client.put(f"/api/v2/tickets/{ticket_id}.json", json={"ticket": sent}, headers=zoe)
    _invalid(refused, "uploads")
    after = cases.get_case(container.uow.read_only(), SYSTEM, ticket_id)
    assert (after.case.priority, after.case.tags) == (before.case.priority, before.case.tags)
    assert len(after.messages) == len(before.messages)
    assert cases.case_audit_trail(container.uow.read_only(), SYSTEM, ticket_id) == trail


def test_a_status_move_the_case_cannot_make_is_record_invalid(
    client: TestClient, zoe: Headers, customer: dict[str, Any]
) -> None:
    ticket_id = _created(client, zoe, requester={"email": "ada@example.com"})["ticket"]["id"]
    url = f"/api/v2/tickets/{ticket_id}.json"
    _invalid(client.put(url, json={"ticket": {"status": "closed"}}, headers=zoe), "status")
    _invalid(client.put(url, json={"ticket": {"status": "done"}}, headers=zoe), "status")
    missing = client.put("/api/v2/tickets/999999.json", json={"ticket": {}}, headers=zoe)
    _refusal(missing, 404, "RecordNotFound")


def _upload(client: TestClient, headers: Headers, content: bytes, name: str = "shot.png") -> Any:
    return client.post(
        f"/api/v2/uploads.json?filename={name}",
        content=content,
        headers={**headers, "Content-Type": "image/png"},
    )


def test_an_upload_attaches_to_the_comment_that_names_its_token_once(
    client: TestClient, zoe: Headers, customer: dict[str, Any]
) -> None:
    sent = _upload(client, zoe, PNG)
    assert sent.status_code == 201, sent.text
    upload = sent.json()["upload"]
    assert upload["attachment"]["file_name"] == "shot.png"
    assert upload["attachments"] == [upload["attachment"]]
    assert upload["attachment"]["size"] == len(PNG)
    token = upload["token"]
    made = _created(
        client,
        zoe,
        requester={"email": "ada@example.com"},
        comment={"body": "see the picture", "uploads": [token]},
    )
    ticket_id = made["ticket"]["id"]
    comments = client.get(f"/api/v2/tickets/{ticket_id}/comments.json", headers=zoe).json()
    (attached,) = comments["comments"][0]["attachments"]
    assert (attached["file_name"], attached["content_type"]) == ("shot.png", "image/png")
    content = client.get(attached["content_url"].removeprefix("http://testserver"), headers=zoe)
    assert content.content == PNG
    # A token is good once.
    again = {"ticket": {"comment": {"body": "again", "uploads": [token]}}}
    _invalid(client.put(f"/api/v2/tickets/{ticket_id}.json", json=again, headers=zoe), "uploads")


def test_an_upload_token_is_its_uploaders_alone(
    client: TestClient, container: Container, zoe: Headers, customer: dict[str, Any]
) -> None:
    token = _upload(client, zoe, PNG).json()["upload"]["token"]
    other = {"Authorization": f"Bearer {_secret(container, _agent(container, 'yan@c.example'))}"}
    comment = {"body": "mine now", "uploads": [token]}
    _invalid(
        _create(client, other, requester={"email": "ada@example.com"}, comment=comment), "uploads"
    )
    assert _case_count(container) == 0
    # Refused to another caller, the token is still its uploader's to use.
    _created(client, zoe, requester={"email": "ada@example.com"}, comment=comment)


def test_an_upload_token_expires(
    client: TestClient, clock: ManualClock, zoe: Headers, customer: dict[str, Any]
) -> None:
    token = _upload(client, zoe, PNG).json()["upload"]["token"]
    clock.advance(minutes=61)
    comment = {"body": "too late", "uploads": [token]}
    _invalid(
        _create(client, zoe, requester={"email": "ada@example.com"}, comment=comment), "uploads"
    )


def test_an_upload_past_the_file_limit_is_refused_and_kept_nowhere(
    container: Container, zoe: Headers
) -> None:
    tight = Settings(**{**container.settings.model_dump(), "max_attachment_bytes": 2048})
    small = bootstrap(tight, clock=container.clock)
    try:
        with TestClient(create_app(container=small)) as client:
            _refusal(_upload(client, zoe, b"x" * 4096), 413, "PayloadTooLarge")
            assert _upload(client, zoe, b"x" * 2048).status_code == 201
            # Past the body limit of a request that carries files, the stream is cut off.
            limit = tight.max_message_attachments_bytes + tight.max_body_bytes
            _refusal(_upload(client, zoe, b"x" * (limit + 1)), 413, "PayloadTooLarge")
    finally:
        small.close()


def test_an_upload_needs_a_filename(client: TestClient, zoe: Headers) -> None:
    _invalid(_upload(client, zoe, PNG, name=""), "filename")


def test_a_viewer_or_a_customer_bound_token_writes_nothing(
    client: TestClient,
    container: Container,
    viewer: Headers,
    customer: dict[str, Any],
) -> None:
    bound = {"Authorization": f"Bearer {_secret(container, None, customer_id=customer['id'])}"}
    for headers in (viewer, bound):
        _refusal(_create(client, headers, requester={"email": "ada@example.com"}), 403, "Forbidden")
        _refusal(_upload(client, headers, PNG), 403, "Forbidden")
    assert _case_count(container) == 0
