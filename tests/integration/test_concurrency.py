"""Changes that meet at the same moment, each in its own thread and unit of work: the desk
resolves what the database undid, and no client sees a conflict it did not cause."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from caredesk.adapters.db import models as m
from caredesk.adapters.db.cases_repo import SqlCaseRepository
from caredesk.adapters.mail.parse import parse_mail
from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Role
from caredesk.domain.cases import Case, Message, MessageKind
from caredesk.domain.customers import Customer
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.services.access import auth
from caredesk.services.cases import cases, customers
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.channels.mail_in import Outcome, receive_mail
from caredesk.services.core import commands
from caredesk.web.app import create_app
from tests.conftest import ManualClock
from tests.integration.test_mail_in import build

T = TypeVar("T")
THREADS = 12


class TickingClock(ManualClock):
    """Each reading a millisecond on, as on a real desk: every change is at its own moment
    (a save that changes nothing would not touch the row, nor meet another writer)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            self.current += timedelta(milliseconds=1)
            return self.current


@pytest.fixture
def clock() -> ManualClock:
    return TickingClock()


def together(count: int, work: Callable[[int], T]) -> list[T | BaseException]:
    """Run `work(0..count-1)` in as many threads, released at once; results or errors."""
    start = threading.Barrier(count)

    def run(index: int) -> T | BaseException:
        start.wait()
        try:
            return work(index)
        except Exception as exc:  # every outcome is reported, a failure included
            return exc

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def failures(results: list[T | BaseException]) -> list[BaseException]:
    return [r for r in results if isinstance(r, BaseException)]


def customer_numbers(container: Container) -> dict[str, int]:
    with container.engine.connect() as conn:
        rows = conn.execute(select(m.CustomerRow.id, m.CustomerRow.seq)).all()
    return dict(rows)


# --- customers created at once ------------------------------------------------------------


def test_customers_created_at_once_each_get_their_own_number(container: Container) -> None:
    now = container.clock.now()

    def create(index: int) -> Customer:
        return customers.create_customer(
            container.uow(), SYSTEM, now,
            first_name=f"Twin{index}", last_name="Parallel", emails=[f"twin{index}@example.com"],
        )  # fmt: skip

    results = together(THREADS, create)
    assert failures(results) == []
    numbers = customer_numbers(container)
    assert len(numbers) == THREADS
    assert len(set(numbers.values())) == THREADS
    assert all(n > 0 for n in numbers.values())
    # Listed in the order of their numbers, every customer shows up once across pages.
    listed: list[str] = []
    cursor = None
    while True:
        page = customers.search_customers(container.uow(), SYSTEM, None, 5, cursor)
        listed.extend(c.id for c in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert listed == sorted(numbers, key=numbers.__getitem__)


def test_mail_from_new_senders_at_once_opens_a_case_and_a_customer_for_each(
    container: Container,
) -> None:
    config = container.mail

    def deliver(index: int) -> Outcome:
        raw = build(sender=f"Sender {index} <sender{index}@example.net>", subject=f"Hello {index}")
        result = receive_mail(
            container.uow(), raw, now=container.clock.now(), config=config, parser=parse_mail
        )
        return result.outcome

    results = together(THREADS, deliver)
    assert failures(results) == []
    assert results == [Outcome.NEW_CASE] * THREADS
    numbers = customer_numbers(container)
    assert len(numbers) == len(set(numbers.values())) == THREADS


# --- replies to one case at once ----------------------------------------------------------


def _case_with_customer(container: Container) -> int:
    now = container.clock.now()
    customer = customers.create_customer(
        container.uow(), SYSTEM, now, first_name="Ada", last_name="Busy", emails=["ada@example.com"]
    )
    view = cases.create_case(
        container.uow(), SYSTEM, now, customer_id=customer.id, subject="Lamp", body="It broke."
    )
    assert view.case.id is not None
    return view.case.id


def _replies_landed_once(container: Container, case_id: int, bodies: list[str]) -> Case:
    with container.uow() as uow:
        stored = [m.body for m in uow.cases.messages(case_id) if m.kind is MessageKind.OUTBOUND]
        case = uow.cases.get(case_id)
        audited = [e for e in uow.audit.for_case(case_id) if e.action == "message.outbound"]
    assert sorted(stored) == sorted(bodies)
    assert len(audited) == len(bodies)
    assert case is not None
    return case


def test_replies_to_one_case_at_once_all_land(container: Container) -> None:
    case_id = _case_with_customer(container)
    before = cases.get_case(container.uow(), SYSTEM, case_id).case.version
    bodies = [f"Reply number {i}." for i in range(THREADS)]

    def reply(index: int) -> Message:
        return cases.add_message(
            container.uow(), SYSTEM, container.clock.now(), case_id,
            kind=MessageKind.OUTBOUND, body=bodies[index],
        )  # fmt: skip

    results = together(THREADS, reply)
    assert failures(results) == []
    case = _replies_landed_once(container, case_id, bodies)
    # Every reply moved the case on once: no write was lost, none applied twice.
    assert case.version == before + THREADS


def test_mails_to_one_case_at_once_all_land(container: Container) -> None:
    config = container.mail

    def deliver(raw: bytes) -> Outcome:
        result = receive_mail(
            container.uow(), raw, now=container.clock.now(), config=config, parser=parse_mail
        )
        return result.outcome

    first = "<first@mail.example.net>"
    assert deliver(build(message_id=first)) is Outcome.NEW_CASE
    bodies = [f"And another thing, number {i}." for i in range(THREADS)]
    results = together(
        THREADS,
        lambda i: deliver(build(body=bodies[i], in_reply_to=first, message_id=f"<r{i}@x.net>")),
    )
    assert failures(results) == []
    assert results == [Outcome.FILED] * THREADS
    with container.uow() as uow:
        (case,) = uow.cases.find(CaseFilter(), 10, None).items
        assert case.id is not None
        inbound = [m.body.strip() for m in uow.cases.messages(case.id)][1:]
    assert sorted(inbound) == sorted(bodies)


def test_replies_through_the_api_at_once_all_land_and_a_stale_version_is_refused(
    container: Container,
) -> None:
    case_id = _case_with_customer(container)
    token = auth.create_token(
        container.uow(), SYSTEM, container.clock.now(), name="agents", role=Role.AGENT
    ).secret
    headers = {"Authorization": f"Bearer {token}"}
    bodies = [f"API reply {i}." for i in range(THREADS)]
    with TestClient(create_app(container=container)) as client:
        version = client.get(f"/api/v1/cases/{case_id}", headers=headers).json()["version"]

        def reply(index: int) -> int:
            response = client.post(
                f"/api/v1/cases/{case_id}/messages",
                json={"kind": "outbound", "body": bodies[index]},
                headers=headers,
            )
            return response.status_code

        results = together(THREADS, reply)
        assert results == [201] * THREADS
        case = _replies_landed_once(container, case_id, bodies)
        assert case.version == version + THREADS

        # A client that says which version it answered is told when that is no longer so.
        stale = client.post(
            f"/api/v1/cases/{case_id}/messages",
            json={"kind": "outbound", "body": "Answering what I saw."},
            headers={**headers, "If-Match": f'"{version}"'},
        )
        assert stale.status_code == 409, stale.text
        assert stale.json()["code"] == "version_conflict"
        current = client.post(
            f"/api/v1/cases/{case_id}/messages",
            json={"kind": "outbound", "body": "Answering what is there."},
            headers={**headers, "If-Match": f'"{case.version}"'},
        )
        assert current.status_code == 201, current.text
    _replies_landed_once(container, case_id, [*bodies, "Answering what is there."])


def test_a_reply_to_a_version_someone_changed_since_is_refused(container: Container) -> None:
    case_id = _case_with_customer(container)
    seen = cases.get_case(container.uow(), SYSTEM, case_id).case.version
    cases.add_message(
        container.uow(), SYSTEM, container.clock.now(), case_id,
        kind=MessageKind.OUTBOUND, body="Someone else answered first.",
    )  # fmt: skip
    with pytest.raises(DomainError) as refused:
        cases.add_message(
            container.uow(), SYSTEM, container.clock.now(), case_id,
            kind=MessageKind.OUTBOUND, body="Mine.", expected_version=seen,
        )  # fmt: skip
    assert refused.value.code is ErrorCode.VERSION_CONFLICT
    _replies_landed_once(container, case_id, ["Someone else answered first."])


def test_a_clash_no_retry_resolves_is_a_conflict_not_a_stale_version(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = _case_with_customer(container)

    def always_overtaken(self: SqlCaseRepository, case: Case) -> None:
        raise StaleDataError("UPDATE statement on table 'cases' expected to update 1 row(s)")

    monkeypatch.setattr(SqlCaseRepository, "save", always_overtaken)
    monkeypatch.setattr(commands, "FIRST_WAIT_SECONDS", 0.0)
    with pytest.raises(DomainError) as raised:
        cases.add_message(
            container.uow(), SYSTEM, container.clock.now(), case_id,
            kind=MessageKind.OUTBOUND, body="Lost in the crowd.",
        )  # fmt: skip
    # The client sent no version: `version_conflict` would tell it to read again for nothing.
    assert raised.value.code is ErrorCode.CONFLICT
