"""The case list's full-text filter at scale's seams, on each database: the same cases in
the same order whichever way a query finds them, and the indexes its statements use."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from caredesk.adapters.db import cases_repo, search
from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM
from caredesk.domain.cases import Channel, MessageKind
from caredesk.domain.customers import Customer
from caredesk.services.cases import cases
from caredesk.services.cases.ports import CaseFilter
from tests.conftest import ManualClock
from tests.integration.statements import query_plan, reads, sent_with_parameters


def _customer(container: Container) -> str:
    now = container.clock.now()
    with container.uow() as uow:
        uow.customers.add(
            Customer(
                id="ada", first_name="Ada", last_name="Lovelace", emails=["a@example.com"],
                created_at=now, updated_at=now,
            )
        )  # fmt: skip
        uow.commit()
    return "ada"


@pytest.fixture
def desk(container: Container, clock: ManualClock) -> Container:
    """Twelve cases, one updated a minute after the other: every third says "parcel" in its
    subject, every fourth in a later message; case 5 alone says "stroller", in a message."""
    customer = _customer(container)
    for number in range(1, 13):
        clock.advance(minutes=1)
        subject = f"Case {number}" + (" parcel late" if number % 3 == 0 else "")
        view = cases.create_case(
            container.uow(), SYSTEM, clock.now(), customer_id=customer, subject=subject,
            body="Hello", channel=Channel.EMAIL,
        )  # fmt: skip
        assert view.case.id is not None
        later = "a stroller" if number == 5 else "the parcel" if number % 4 == 0 else "thanks"
        cases.add_message(
            container.uow(), SYSTEM, clock.now(), view.case.id, kind=MessageKind.INBOUND,
            body=f"About {later}",
        )  # fmt: skip
    return container


def _pages(container: Container, text: str, size: int) -> Iterator[list[str]]:
    cursor = None
    while True:
        with container.uow.read_only() as uow:
            page = uow.cases.find(CaseFilter(text=text), size, cursor)
        yield [case.subject for case in page.items]
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


@pytest.fixture
def common_lately(monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite, a word counts as common lately when one of the newest messages has it:
    the desk's twelve cases are too few for a quarter of a hundred."""
    monkeypatch.setattr(search, "OFTEN_LATELY", 1)


@pytest.mark.parametrize("walked", ["enough", "too few"])
def test_a_word_finds_the_same_cases_in_list_order_page_by_page(
    desk: Container, monkeypatch: pytest.MonkeyPatch, common_lately: None, walked: str
) -> None:
    # The newest cases checked one by one fill each page, or fall short (3 checked) and the
    # full-text indexes answer.
    if walked == "too few":
        monkeypatch.setitem(cases_repo.NEWEST_WALKED, desk.engine.dialect.name, 3)
    parcel = [n for n in range(12, 0, -1) if n % 3 == 0 or n % 4 == 0]
    pages = list(_pages(desk, "parcel", 2))
    assert [subject for page in pages for subject in page] == [
        f"Case {n}" + (" parcel late" if n % 3 == 0 else "") for n in parcel
    ]
    assert [len(page) for page in pages] == [2, 2, 2]
    assert list(_pages(desk, "stroller", 2)) == [["Case 5"]]
    assert list(_pages(desk, "kettle", 2)) == [[]]


def test_a_common_word_is_found_among_the_newest_cases_and_a_rare_one_by_the_indexes(
    desk: Container, common_lately: None
) -> None:
    engine = desk.engine

    def first_page(text: str) -> list[tuple[str, Any]]:
        with sent_with_parameters(engine) as sent, desk.uow.read_only() as uow:
            assert uow.cases.find(CaseFilter(text=text), 3, None).items
        # The statements that look for the words (not those that load each case's tags).
        return [(s, p) for s, p in reads(sent) if "MATCH" in s or "tsquery" in s]

    common, rare = first_page("parcel"), first_page("stroller")
    # The common word: one statement over the newest cases fills the page.
    assert len(common) == 1
    assert "ix_cases_updated" in query_plan(engine, *common[0])
    # The rare one: the newest cases fall short (on SQLite they are not even checked: no
    # newest message has the word), then the full-text indexes answer.
    assert len(rare) == 2
    found = query_plan(engine, *rare[1])
    if engine.dialect.name == "sqlite":
        assert "case_subject_fts VIRTUAL TABLE" in found and "message_fts VIRTUAL TABLE" in found
    else:
        assert "ix_cases_lexemes" in found and "ix_messages_lexemes" in found
