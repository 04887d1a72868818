"""SQLite writers of one process take turns in the process (docs/development.md, "SQLite"):
every write lands, and a transaction however it ends gives its turn back."""

from __future__ import annotations

import threading

import pytest

from caredesk.adapters.db.engine import WriterTurn, writer_turn
from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Role
from caredesk.services.access import auth


@pytest.fixture
def turn(container: Container) -> WriterTurn:
    found = writer_turn(container.engine)
    if found is None:
        pytest.skip("PostgreSQL writers wait on row locks, not on one write lock")
    return found


def test_sixteen_writers_at_once_all_land(container: Container, turn: WriterTurn) -> None:
    failures: list[BaseException] = []

    def write(index: int) -> None:
        try:
            for n in range(5):
                auth.create_token(
                    container.uow(),
                    SYSTEM,
                    container.clock.now(),
                    name=f"w{index}-{n}",
                    role=Role.VIEWER,
                )
        except BaseException as failure:
            failures.append(failure)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with container.uow.read_only() as uow:
        assert len([t for t in uow.tokens.all() if t.name.startswith("w")]) == 80
    assert not turn.held


def test_a_transaction_gives_its_turn_back_however_it_ends(
    container: Container, turn: WriterTurn
) -> None:
    held = turn
    with container.uow() as uow:
        uow.tokens.all()  # the transaction begins with its first statement
        assert held.held, "a writer holds the turn while it runs"
    assert not held.held, "left without commit: rolled back"

    def failing() -> None:
        with container.uow() as uow:
            uow.tokens.all()
            raise RuntimeError("a command failed midway")

    with pytest.raises(RuntimeError):
        failing()
    assert not held.held

    uow = container.uow()
    with uow:
        uow.tokens.all()
        uow.commit()
    assert not held.held, "committed"

    read = container.uow.read_only()
    with read:
        read.tokens.all()
        assert not held.held, "a reader never takes it"
