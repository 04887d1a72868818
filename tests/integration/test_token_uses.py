"""An API token's last use is noted in memory on each call and written in batches: reads never
write, and the time still reaches the token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from caredesk.adapters.periodic import Periodic
from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Role
from caredesk.services.access import auth
from caredesk.services.access.token_uses import TokenUses


def _issued(container: Container) -> tuple[int, dict[str, str]]:
    issued = auth.create_token(
        container.uow(), SYSTEM, container.clock.now(), name="reader", role=Role.VIEWER
    )
    assert issued.token.id is not None
    return issued.token.id, {"Authorization": f"Bearer {issued.secret}"}


def _last_used(container: Container, token_id: int) -> object:
    with container.uow.read_only() as uow:
        token = uow.tokens.get(token_id)
    assert token is not None
    return token.last_used_at


def test_a_call_notes_the_use_and_a_flush_writes_it(
    client: TestClient, container: Container
) -> None:
    token_id, headers = _issued(container)
    assert client.get("/api/v1/cases", headers=headers).status_code == 200
    assert _last_used(container, token_id) is None, "the call itself wrote nothing"
    assert container.token_uses.pending() == 1

    assert container.token_uses.flush(container.uow()) == 1
    assert _last_used(container, token_id) == container.clock.now()
    assert container.token_uses.flush(container.uow()) == 0, "nothing twice"


def test_a_use_is_never_moved_back(container: Container) -> None:
    token_id, _ = _issued(container)
    now = container.clock.now()
    later, earlier = TokenUses(), TokenUses()
    later.note(token_id, now)
    earlier.note(token_id, now - timedelta(minutes=5))
    later.flush(container.uow())
    # Another process's batch, noted earlier but written after.
    earlier.flush(container.uow())
    assert _last_used(container, token_id) == now


def test_a_failed_flush_keeps_the_uses_for_the_next(container: Container) -> None:
    token_id, _ = _issued(container)
    uses = TokenUses()
    uses.note(token_id, container.clock.now())

    class Unreachable:
        """A unit of work whose database has gone away."""

        def __enter__(self) -> Unreachable:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        @property
        def tokens(self) -> None:
            raise ConnectionError("the database went away")

    with pytest.raises(ConnectionError):
        uses.flush(Unreachable())  # type: ignore[arg-type]
    assert uses.pending() == 1
    assert uses.flush(container.uow()) == 1
    assert _last_used(container, token_id) == container.clock.now()


def test_a_stopping_process_writes_what_it_noted(container: Container) -> None:
    token_id, _ = _issued(container)
    container.token_uses.note(token_id, container.clock.now())
    # Far longer than any test: only stop() can make it write.
    writer = Periodic("token-uses", 3600, lambda: container.token_uses.flush(container.uow()))
    writer.start()
    writer.stop()
    assert _last_used(container, token_id) == container.clock.now()
