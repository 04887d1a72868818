"""Idempotency keys of the HTTP API: claim a key, store its first response, or let it go.

Each call is its own short transaction, committed before (claim) or after (store, release)
the request's command runs, so that a second request with the same key finds the claim.
"""

from __future__ import annotations

from caredesk.services.core.commands import command
from caredesk.services.core.ports import IdempotencyRecord, StoredResponse
from caredesk.services.core.unit import IdempotencyUnit


@command
def claim(uow: IdempotencyUnit, record: IdempotencyRecord) -> IdempotencyRecord | None:
    """Claim the key; the record of an earlier claim instead if there was one."""
    with uow:
        existing = uow.idempotency.reserve(record)
        uow.commit()
        return existing


@command
def store_response(
    uow: IdempotencyUnit, principal: str, key: str, response: StoredResponse
) -> None:
    with uow:
        uow.idempotency.complete(principal, key, response)
        uow.commit()


@command
def release(uow: IdempotencyUnit, principal: str, key: str) -> None:
    """Let the key go (the request failed): the client may send it again."""
    with uow:
        uow.idempotency.release(principal, key)
        uow.commit()
