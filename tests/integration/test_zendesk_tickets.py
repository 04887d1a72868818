"""/api/v2 tickets read: one ticket, its comments, many by id, the list and its count."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM
from caredesk.domain.cases import MessageKind
from caredesk.services.cases import cases
from caredesk.services.cases.cases import NewAttachment
from caredesk.services.cases.ports import CaseFilter
from tests.conftest import ManualClock
from tests.integration.test_zendesk_foundation import _refusal, _secret

# The shapes of reads: the case list, text search and counts are tested on both backends.
pytestmark = pytest.mark.one_backend

Headers = dict[str, str]


def _case(container: Container, customer: dict[str, Any], subject: str = "Printer") -> int:
    view = cases.create_case(
        container.uow(),
        SYSTEM,
        container.clock.now(),
        customer_id=customer["id"],
        subject=subject,
        body="It stopped printing.",
        external_id=f"zd-{subject}",
    )
    assert view.case.id is not None
    return view.case.id


def test_a_ticket_is_the_case_in_zendesks_shape(
    client: TestClient, container: Container, agent: Headers, customer: dict[str, Any]
) -> None:
    case_id = _case(container, customer)
    response = client.get(f"/api/v2/tickets/{case_id}.json", headers=agent)
    assert response.status_code == 200, response.text
    ticket = response.json()["ticket"]
    assert (ticket["id"], ticket["subject"], ticket["status"]) == (case_id, "Printer", "new")
    assert ticket["description"] == "It stopped printing."
    assert ticket["external_id"] == "zd-Printer"
    assert ticket["url"] == f"http://testserver/api/v2/tickets/{case_id}.json"
    assert isinstance(ticket["requester_id"], int) and ticket["assignee_id"] is None


@pytest.mark.parametrize("path", ["{}.json", "{}/comments.json"])
def test_a_missing_ticket_is_record_not_found(
    client: TestClient, agent: Headers, path: str
) -> None:
    for missing in (999999, 2**40):
        url = "/api/v2/tickets/" + path.format(missing)
        _refusal(client.get(url, headers=agent), 404, "RecordNotFound")


@pytest.mark.parametrize(
    "path", ["/api/v2/tickets/{}.json", "/api/v2/tickets/{}/comments.json", "/api/v2/tickets.json"]
)
def test_a_customer_bound_token_reads_no_ticket(
    client: TestClient, container: Container, customer: dict[str, Any], path: str
) -> None:
    case_id = _case(container, customer)
    bound = {"Authorization": f"Bearer {_secret(container, None, customer_id=customer['id'])}"}
    _refusal(client.get(path.format(case_id), headers=bound), 403, "Forbidden")


def _conversation(container: Container, customer: dict[str, Any]) -> int:
    case_id = _case(container, customer)
    now = container.clock.now()
    cases.add_message(
        container.uow(), SYSTEM, now, case_id, kind=MessageKind.NOTE, body="check the toner"
    )
    cases.add_message(
        container.uow(),
        SYSTEM,
        now,
        case_id,
        kind=MessageKind.OUTBOUND,
        body="Try this",
        attachments=[NewAttachment("steps.txt", "text/plain", b"1. open\n2. close\n")],
    )
    return case_id


def test_comments_are_the_messages_with_notes_private_and_files_listed(
    client: TestClient, container: Container, agent: Headers, customer: dict[str, Any]
) -> None:
    case_id = _conversation(container, customer)
    body = client.get(f"/api/v2/tickets/{case_id}/comments.json", headers=agent).json()
    assert [(c["body"], c["public"]) for c in body["comments"]] == [
        ("It stopped printing.", True),
        ("check the toner", False),
        ("Try this", True),
    ]
    assert (body["count"], body["next_page"], body["previous_page"]) == (3, None, None)
    (file,) = body["comments"][2]["attachments"]
    sha = hashlib.sha256(b"1. open\n2. close\n").hexdigest()
    assert file["file_name"] == "steps.txt" and file["size"] == 17
    assert file["content_url"] == f"http://testserver/api/v2/attachments/{sha}/content"
    # Fetched with the Zendesk credential the client already sends, the {email}/token form too.
    fetched = client.get(file["content_url"], headers=agent)
    assert fetched.status_code == 200 and fetched.content == b"1. open\n2. close\n"
    assert fetched.headers["content-disposition"] == "attachment"
    missing = client.get(f"/api/v2/attachments/{'0' * 64}/content", headers=agent)
    assert missing.status_code == 404 and missing.json()["error"] == "RecordNotFound"
    assert client.get(file["content_url"]).status_code == 401
    ticket = client.get(f"/api/v2/tickets/{case_id}.json", headers=agent).json()["ticket"]
    assert body["comments"][0]["author_id"] == ticket["requester_id"]


def test_comments_page_by_offset_and_by_cursor(
    client: TestClient, container: Container, agent: Headers, customer: dict[str, Any]
) -> None:
    case_id = _conversation(container, customer)
    url = f"/api/v2/tickets/{case_id}/comments.json"
    first = client.get(url, params={"per_page": 2}, headers=agent).json()
    assert [c["body"] for c in first["comments"]] == ["It stopped printing.", "check the toner"]
    assert first["count"] == 3 and first["previous_page"] is None
    second = client.get(first["next_page"], headers=agent).json()
    assert [c["body"] for c in second["comments"]] == ["Try this"]
    assert second["next_page"] is None and second["previous_page"] is not None

    bodies: list[str] = []
    page = client.get(url, params={"page[size]": 2}, headers=agent).json()
    while True:
        bodies += [c["body"] for c in page["comments"]]
        if not page["meta"]["has_more"]:
            break
        page = client.get(page["links"]["next"], headers=agent).json()
    assert bodies == ["It stopped printing.", "check the toner", "Try this"]
    bad = client.get(url, params={"page[after]": "nonsense"}, headers=agent)
    assert bad.status_code == 400 and bad.json()["error"] == "InvalidValue"


def test_show_many_answers_the_tickets_it_has_in_the_order_asked(
    client: TestClient, container: Container, agent: Headers, customer: dict[str, Any]
) -> None:
    one, two = _case(container, customer, "one"), _case(container, customer, "two")
    body = client.get(
        "/api/v2/tickets/show_many.json", params={"ids": f"{two},999999,{one},{two}"}, headers=agent
    ).json()
    assert [t["id"] for t in body["tickets"]] == [two, one]
    assert body["tickets"][0]["subject"] == "two"

    too_many = ",".join(str(i) for i in range(1, 102))
    refused = client.get("/api/v2/tickets/show_many.json", params={"ids": too_many}, headers=agent)
    assert "ids" in _refusal(refused, 422, "RecordInvalid")["details"]
    bad = client.get("/api/v2/tickets/show_many.json", params={"ids": "1,x"}, headers=agent)
    _refusal(bad, 422, "RecordInvalid")


def test_the_ticket_list_pages_newest_updated_first_by_cursor_and_by_offset(
    client: TestClient,
    container: Container,
    clock: ManualClock,
    agent: Headers,
    customer: dict[str, Any],
) -> None:
    made = []
    for subject in ("a", "b", "c"):
        made.append(_case(container, customer, subject))
        clock.advance(minutes=1)
    newest_first = list(reversed(made))

    seen: list[int] = []
    page = client.get("/api/v2/tickets.json", params={"page[size]": 2}, headers=agent).json()
    assert page["meta"]["has_more"] is True
    while True:
        seen += [t["id"] for t in page["tickets"]]
        if not page["meta"]["has_more"]:
            break
        page = client.get(page["links"]["next"], headers=agent).json()
    assert seen == newest_first

    first = client.get("/api/v2/tickets.json", params={"per_page": 2}, headers=agent).json()
    assert [t["id"] for t in first["tickets"]] == newest_first[:2] and first["count"] == 3
    second = client.get(first["next_page"], headers=agent).json()
    assert [t["id"] for t in second["tickets"]] == newest_first[2:]
    assert second["next_page"] is None


def test_the_ticket_count_counts_the_cases(
    client: TestClient, container: Container, agent: Headers, customer: dict[str, Any]
) -> None:
    def count() -> Any:
        return client.get("/api/v2/tickets/count.json", headers=agent).json()["count"]

    assert count()["value"] == 0
    for subject in ("a", "b"):
        _case(container, customer, subject)
    counted = count()
    assert counted["value"] == 2 and counted["refreshed_at"].endswith("Z")


def test_count_cases_counts_what_the_filters_keep(
    container: Container, customer: dict[str, Any]
) -> None:
    _case(container, customer, "a")
    _case(container, customer, "b")

    def counted(filters: CaseFilter) -> int:
        return cases.count_cases(container.uow.read_only(), SYSTEM, filters)

    assert counted(CaseFilter()) == 2
    assert counted(CaseFilter(external_id="zd-a")) == 1
    assert counted(CaseFilter(external_id="zd-none")) == 0


def test_offset_paging_of_the_ticket_list_stops_at_ten_thousand(
    client: TestClient, agent: Headers
) -> None:
    deep = client.get("/api/v2/tickets.json", params={"page": 101}, headers=agent)
    assert "page[after]" in _refusal(deep, 400, "InvalidValue")["description"]
    last = client.get("/api/v2/tickets.json", params={"page": 100}, headers=agent)
    assert last.status_code == 200 and last.json()["tickets"] == []
