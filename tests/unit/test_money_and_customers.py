"""Exact money and customer rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

from caredesk.domain.agents import Actor, Permission, Role
from caredesk.domain.customers import normalise_email
from caredesk.domain.errors import Forbidden, ValidationFailed
from caredesk.domain.money import money_sum, to_money


def test_json_floats_become_exact_cents() -> None:
    assert to_money(47.84) == Decimal("47.84")
    assert to_money(0.1) + to_money(0.2) == Decimal("0.30")
    assert money_sum([to_money(536.65), to_money(-36.65)]) == Decimal("500.00")


def test_emails_are_compared_without_case() -> None:
    assert normalise_email(" Ada.L@Example.COM ") == "ada.l@example.com"
    with pytest.raises(ValidationFailed):
        normalise_email("not-an-email")


@pytest.mark.parametrize(
    ("role", "permission", "allowed"),
    [
        (Role.VIEWER, Permission.READ, True),
        (Role.VIEWER, Permission.WRITE_CASES, False),
        (Role.AGENT, Permission.WRITE_CASES, True),
        (Role.AGENT, Permission.APPROVE, False),
        (Role.LEAD, Permission.APPROVE, True),
        (Role.LEAD, Permission.MANAGE_TOKENS, False),
        (Role.ADMIN, Permission.MANAGE_TOKENS, True),
    ],
)
def test_roles_grant_permissions(role: Role, permission: Permission, allowed: bool) -> None:
    actor = Actor(role=role, agent_id=1)
    assert actor.can(permission) is allowed
    if not allowed:
        with pytest.raises(Forbidden):
            actor.require(permission)
