"""Which customers an actor reaches: agents all, a bound actor one, a tool session the one it
verified and nobody before that."""

from __future__ import annotations

import pytest

from caredesk.domain.agents import Actor, Role
from caredesk.domain.errors import DomainError, ErrorCode

AGENT = Actor(role=Role.AGENT, token_id=1)
BOUND = Actor(role=Role.AGENT, token_id=2, customer_id="ivan")
UNVERIFIED = Actor(role=Role.AGENT, token_id=3, tool_session=True)
VERIFIED = Actor(role=Role.AGENT, token_id=3, customer_id="ivan", tool_session=True)


@pytest.mark.parametrize(
    ("actor", "ivan", "anya"),
    [
        (AGENT, True, True),
        (BOUND, True, False),
        (UNVERIFIED, False, False),
        (VERIFIED, True, False),
    ],
)
def test_reach(actor: Actor, ivan: bool, anya: bool) -> None:
    assert (actor.reaches("ivan"), actor.reaches("anya")) == (ivan, anya)


def _refusal(actor: Actor, customer_id: str) -> tuple[ErrorCode, object] | None:
    try:
        actor.require_reach(customer_id)
    except DomainError as exc:
        return exc.code, exc.details.get("rule")
    return None


def test_a_refusal_says_whether_to_verify_first_or_that_the_record_is_someone_elses() -> None:
    assert _refusal(AGENT, "anya") is None
    assert _refusal(VERIFIED, "ivan") is None
    assert _refusal(UNVERIFIED, "ivan") == (ErrorCode.NOT_CUSTOMERS, "identity.verified")
    assert _refusal(VERIFIED, "anya") == (ErrorCode.NOT_CUSTOMERS, "identity.one_user")
    assert _refusal(BOUND, "anya") == (ErrorCode.NOT_CUSTOMERS, "identity.one_user")


def test_a_tool_session_must_verify_before_anything_is_looked_up() -> None:
    AGENT.require_verified()
    VERIFIED.require_verified()
    with pytest.raises(DomainError) as refused:
        UNVERIFIED.require_verified()
    assert refused.value.details == {"rule": "identity.verified"}
    assert VERIFIED.verified_customer() == "ivan"
    with pytest.raises(DomainError):
        UNVERIFIED.verified_customer()
