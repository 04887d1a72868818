"""/api/v2 incremental ticket export: every case in the order it last changed, to the end."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM
from caredesk.domain.cases import CaseStatus
from caredesk.services.cases import cases
from tests.conftest import ManualClock
from tests.integration.test_zendesk_foundation import _refusal

Headers = dict[str, str]
URL = "/api/v2/incremental/tickets/cursor.json"


def _cases(container: Container, clock: ManualClock, customer: dict[str, Any], n: int) -> list[int]:
    made = []
    for i in range(n):
        view = cases.create_case(
            container.uow(), SYSTEM, clock.now(), customer_id=customer["id"], subject=f"Case {i}"
        )
        assert view.case.id is not None
        made.append(view.case.id)
        clock.advance(minutes=1)
    return made


def test_pages_run_oldest_change_first_to_the_end_of_the_stream(
    client: TestClient,
    container: Container,
    clock: ManualClock,
    agent: Headers,
    customer: dict[str, Any],
) -> None:
    made = _cases(container, clock, customer, 5)
    seen: list[int] = []
    body = client.get(f"{URL}?start_time=0&per_page=2", headers=agent).json()
    while True:
        seen += [t["id"] for t in body["tickets"]]
        assert set(body) >= {"after_url", "after_cursor", "before_url", "before_cursor"}
        if body["end_of_stream"]:
            break
        assert len(body["tickets"]) == 2 and "start_time" not in body["after_url"]
        body = client.get(body["after_url"], headers=agent).json()
    assert seen == made


def test_a_ticket_updated_after_the_reader_passed_it_comes_again(
    client: TestClient,
    container: Container,
    clock: ManualClock,
    agent: Headers,
    customer: dict[str, Any],
) -> None:
    first, second = _cases(container, clock, customer, 2)
    end = client.get(f"{URL}?start_time=0", headers=agent).json()
    assert end["end_of_stream"] and [t["id"] for t in end["tickets"]] == [first, second]
    quiet = client.get(end["after_url"], headers=agent).json()
    assert quiet["tickets"] == [] and quiet["end_of_stream"]
    assert quiet["after_cursor"] == end["after_cursor"]
    cases.change_status(container.uow(), SYSTEM, clock.now(), first, CaseStatus.OPEN)
    again = client.get(end["after_url"], headers=agent).json()
    assert [(t["id"], t["status"]) for t in again["tickets"]] == [(first, "open")]


def test_start_time_leaves_out_what_changed_before_it(
    client: TestClient,
    container: Container,
    clock: ManualClock,
    agent: Headers,
    customer: dict[str, Any],
) -> None:
    made = _cases(container, clock, customer, 3)
    since = int(clock.now().timestamp()) - 60
    body = client.get(f"{URL}?start_time={since}", headers=agent).json()
    assert [t["id"] for t in body["tickets"]] == made[2:]


def test_bad_positions_are_refused_as_the_users_export_refuses_them(
    client: TestClient, clock: ManualClock, agent: Headers
) -> None:
    future = int(clock.now().timestamp()) + 3600
    for query in (f"start_time={future}", "", "start_time=0&cursor=abc"):
        body = _refusal(client.get(f"{URL}?{query}", headers=agent), 422, "RecordInvalid")
        assert "start_time" in body["details"], query
    foreign = client.get(f"{URL}?cursor=not-a-cursor", headers=agent)
    assert foreign.status_code == 400, foreign.text


BY_TIME = "/api/v2/incremental/tickets.json"


def test_the_time_based_export_pages_by_the_last_tickets_time(
    client: TestClient,
    container: Container,
    clock: ManualClock,
    agent: Headers,
    customer: dict[str, Any],
) -> None:
    made = _cases(container, clock, customer, 3)
    body = client.get(f"{BY_TIME}?start_time=0&per_page=2", headers=agent).json()
    assert [t["id"] for t in body["tickets"]] == made[:2] and not body["end_of_stream"]
    second = int(clock.now().timestamp()) - 120  # the second case's change, a minute apart
    assert (body["count"], body["end_time"]) == (2, second)
    # The next page starts at that second: the ticket changed then comes again.
    rest = client.get(body["next_page"], headers=agent).json()
    assert [t["id"] for t in rest["tickets"]] == made[1:] and not rest["end_of_stream"]
    end = client.get(rest["next_page"], headers=agent).json()
    assert [t["id"] for t in end["tickets"]] == made[2:] and end["end_of_stream"]
    cases.change_status(container.uow(), SYSTEM, clock.now(), made[0], CaseStatus.OPEN)
    later = client.get(end["next_page"], headers=agent).json()
    assert [(t["id"], t["status"]) for t in later["tickets"]][-1] == (made[0], "open")


def test_the_time_based_export_needs_a_start_time_not_yet_to_come(
    client: TestClient, clock: ManualClock, agent: Headers
) -> None:
    future = int(clock.now().timestamp()) + 3600
    for query in (f"start_time={future}", "", "start_time=0&per_page=1001"):
        _refusal(client.get(f"{BY_TIME}?{query}", headers=agent), 422, "RecordInvalid")
    quiet = client.get(f"{BY_TIME}?start_time={future - 3600}", headers=agent).json()
    assert quiet["tickets"] == [] and quiet["end_time"] == future - 3600
    assert quiet["end_of_stream"]
