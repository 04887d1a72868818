"""Reversals: a grant's money undone by a compensating grant; history is never edited."""

from __future__ import annotations

from datetime import datetime

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.errors import DomainError, ErrorCode, NotFound
from caredesk.domain.grants import Grant, GrantStatus, LedgerEntry
from caredesk.domain.money import ZERO
from caredesk.domain.policy.model import Policy, RemedyKind
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command
from caredesk.services.engine.grants.granting import grant_fingerprint
from caredesk.services.engine.grants.usage import lock_grant_scopes
from caredesk.services.engine.policy import active_policy
from caredesk.services.engine.unit import EngineUnit

# Grants that changed an order are undone by another change to the order, not a reversal.
ORDER_CHANGING = frozenset(
    {
        RemedyKind.CANCEL,
        RemedyKind.MODIFY_ADDRESS,
        RemedyKind.MODIFY_ITEMS,
        RemedyKind.MODIFY_PAYMENT,
        RemedyKind.EXCHANGE,
        RemedyKind.RETURN_LABEL,
        RemedyKind.REPLACEMENT,
        RemedyKind.UPGRADE,
    }
)


@command
def reverse_grant(
    uow: EngineUnit, actor: Actor, now: datetime, grant_id: int, reason: str
) -> Grant:
    """Undo a grant's money by a compensating grant; history is never edited."""
    actor.require(Permission.APPROVE)
    policy = active_policy(uow).policy
    with uow:
        original = uow.grants.get(grant_id)
        if original is None:
            raise NotFound("grant", grant_id)
        lock_grant_scopes(
            uow,
            policy,
            agent_id=None,
            customer_id=original.customer_id,
            case_id=original.case_id,
            order_id=original.order_id,
            team_id=None,
        )
        # Read again after the locks: a second click may have reversed it meanwhile.
        original = uow.grants.get(grant_id)
        assert original is not None
        _check_reversible(policy, original)
        entries = uow.ledger.for_grant(grant_id)
        reversal = _reversal_of(original, actor, now, reason)
        _restore_balances(uow, original.customer_id, entries)
        uow.grants.add(reversal)
        assert reversal.id is not None
        uow.ledger.add(
            [
                LedgerEntry(
                    reversal.id, e.account, -e.amount, f"reversal: {e.memo}", now, e.remedy_id
                )
                for e in entries
            ]
        )
        original.status = GrantStatus.REVERSED
        uow.grants.save(original)
        publish_change(
            uow,
            actor,
            now,
            "grant.reversed",
            "grant",
            grant_id,
            case_id=original.case_id,
            after={"reversal_id": reversal.id, "reason": reason},
        )
        uow.commit()
        return reversal


def _check_reversible(policy: Policy, original: Grant) -> None:
    if original.status is not GrantStatus.EXECUTED:
        raise DomainError(
            f"grant {original.id} is {original.status.value}; only an executed grant is reversed",
            code=ErrorCode.CONFLICT,
        )
    kinds = {d.kind for d in map(policy.remedy, original.remedy_ids) if d is not None}
    if kinds & ORDER_CHANGING:
        raise DomainError(
            "a grant that changed an order is undone by a new change to that order, "
            "not by a reversal",
            code=ErrorCode.CONFLICT,
        )


def _reversal_of(original: Grant, actor: Actor, now: datetime, reason: str) -> Grant:
    """The compensating grant: the original's cost and refunds, negated."""
    assert original.id is not None
    grant_id = original.id
    return Grant(
        id=None,
        customer_id=original.customer_id,
        remedy_ids=[f"reverse:{r}" for r in original.remedy_ids],
        params={"reason": {"text": reason}},
        status=GrantStatus.EXECUTED,
        cost=-original.cost,
        refunded=-original.refunded,
        policy_version=original.policy_version,
        service_level=original.service_level,
        actor=actor.ref,
        created_at=now,
        fingerprint=grant_fingerprint(["reverse"], {"grant": grant_id}, str(grant_id)),
        case_id=original.case_id,
        order_id=original.order_id,
        summary=f"reversal of grant {grant_id}: {reason}",
        agent_id=actor.agent_id,
        team_id=original.team_id,
        reverses_grant_id=grant_id,
        executed_at=now,
    )


def _restore_balances(uow: EngineUnit, customer_id: str, entries: list[LedgerEntry]) -> None:
    """Take back what a grant put on a gift card or store credit, if it is still there."""
    customer = uow.customers.get(customer_id)
    if customer is None:
        return
    changed = False
    for entry in entries:
        kind, _, method_id = entry.account.partition(":")
        if kind not in ("giftcard", "storecredit"):
            continue
        method = customer.payment_method(method_id)
        if method is None or method.balance is None:
            continue
        # A credit (negative entry) raised the balance; reversing lowers it by as much.
        restored = method.balance + entry.amount
        if restored < ZERO:
            raise DomainError(
                f"{method_id} has only {method.balance} left; the grant was already spent",
                code=ErrorCode.INSUFFICIENT_BALANCE,
            )
        method.balance = restored
        changed = True
    if changed:
        uow.customers.save(customer)
