"""Self-service remedies: what the policy lets a customer do alone, asked and granted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from caredesk.domain.errors import DomainError, ErrorCode, NotFound, ValidationFailed, must_exist
from caredesk.domain.orders import Order
from caredesk.domain.policy.eligibility import refusals
from caredesk.domain.policy.model import Policy, RemedyDef, RemedyKind
from caredesk.services.channels.portal.customer_mail import (
    NOTIFICATION_TEMPLATE,
    CustomerMail,
    CustomerMailer,
)
from caredesk.services.channels.portal.sign_in import portal_actor
from caredesk.services.channels.unit import PortalUnit
from caredesk.services.engine import grants
from caredesk.services.engine.facts import (
    default_params,
    load_situation,
    request_facts,
    situation_facts,
)
from caredesk.services.engine.policy import active_policy, policy_in_force

# Self-service the portal has pages for; the policy decides which of them a store allows.
PORTAL_KINDS = frozenset({RemedyKind.CANCEL, RemedyKind.RETURN_LABEL, RemedyKind.KEEP_ITEM})
CANCEL_REASONS = ("no longer needed", "ordered by mistake")
# What the customer reports before keeping an item, by issue type: the policy decides which
# of them allow it (`keep.problem_reported` in the default policy).
KEEP_REASONS = {
    "damaged": "It arrived damaged",
    "defective": "It does not work",
    "wrong_item": "It is not what I ordered",
}


@dataclass(frozen=True, slots=True)
class SelfServiceOption:
    """One thing a customer may ask for: a remedy, and the remedies granted with it."""

    remedy: RemedyDef
    eligible: bool
    reason: str = ""
    partners: tuple[RemedyDef, ...] = ()

    @property
    def remedy_ids(self) -> list[str]:
        return [self.remedy.id, *(p.id for p in self.partners)]


@dataclass(frozen=True, slots=True)
class OrderSelfService:
    order: Order
    options: list[SelfServiceOption]

    @property
    def available(self) -> list[SelfServiceOption]:
        return [o for o in self.options if o.eligible]


def self_service_choices(policy: Policy) -> list[tuple[RemedyDef, tuple[RemedyDef, ...]]]:
    """What the policy lets a customer do alone, among what the portal has pages for, each
    with the self-service remedy its `requires_any` ties it to (keep-the-item comes with
    the refund of the items kept; which refund is the policy's choice, not the portal's)."""
    choices = []
    for remedy in policy.remedies:
        if not remedy.self_service or remedy.kind not in PORTAL_KINDS:
            continue
        partners: tuple[RemedyDef, ...] = ()
        if remedy.requires_any:
            tied = [policy.remedy(r) for r in remedy.requires_any]
            partner = next((t for t in tied if t is not None and t.self_service), None)
            if partner is None:
                continue
            partners = (partner,)
        choices.append((remedy, partners))
    return choices


def _probe_params(kind: RemedyKind, defaults: dict[str, Any]) -> dict[str, Any]:
    """The parameters a customer's request of this kind would carry (each remedy of the
    bundle gets the same), to ask the policy in advance: the page then asks for the reason."""
    params = {**defaults, "confirmed": True}
    if kind is RemedyKind.CANCEL:
        params.setdefault("reason", CANCEL_REASONS[0])
    if kind is RemedyKind.KEEP_ITEM:
        params.setdefault("reason", next(iter(KEEP_REASONS)))
    return params


def order_self_service(
    uow: PortalUnit, customer_id: str, now: datetime, order_id: str | None = None
) -> list[OrderSelfService]:
    """For each of the customer's orders (or one), the self-service remedies and whether the
    policy in force allows each now: the same rules a grant checks, asked in advance."""
    actor = portal_actor(customer_id)
    with uow:
        customer = must_exist(uow.customers.get(customer_id), "customer", customer_id)
        loaded = policy_in_force(uow)
        policy = loaded.policy
        offered = self_service_choices(policy)
        orders = uow.orders.for_customer(customer_id)
        if order_id is not None:
            orders = [o for o in orders if o.id == order_id]
            if not orders:
                raise NotFound("order", order_id)
        result = []
        for order in orders:
            situation = load_situation(
                uow, policy, now, customer=customer, case=None, order_id=order.id, agent_id=None
            )
            facts = situation_facts(situation, policy, actor, grants.PORTAL, now)
            defaults = default_params(situation, policy, facts)
            options = []
            for remedy, partners in offered:
                found = []
                for each in (remedy, *partners):
                    params = _probe_params(remedy.kind, defaults.get(each.id, {}))
                    each_facts = {**facts, **request_facts(situation, policy, each, params)}
                    found += refusals(policy, each, each_facts)
                reason = found[0].message if found else ""
                options.append(SelfServiceOption(remedy, not found, reason, partners))
            result.append(OrderSelfService(order, options))
        return result


@dataclass(frozen=True, slots=True)
class SelfServiceOutcome:
    grant_id: int | None
    summary: str
    customer_note: str
    awaiting_approval: bool
    replayed: bool


def _request_params(
    kind: RemedyKind, reason: str | None, item_ids: list[str] | None
) -> dict[str, Any]:
    """What the customer chose on the form, checked against what the form offered."""
    params: dict[str, Any] = {}
    if kind is RemedyKind.CANCEL:
        if reason not in CANCEL_REASONS:
            raise ValidationFailed("choose why you cancel", details={"field": "reason"})
        params["reason"] = reason
    if kind is RemedyKind.KEEP_ITEM:
        if reason not in KEEP_REASONS:
            raise ValidationFailed(
                "tell us what is wrong with the items: choose one of the answers",
                details={"field": "reason"},
            )
        params["reason"] = reason
    if kind in (RemedyKind.RETURN_LABEL, RemedyKind.KEEP_ITEM):
        # A form with every box unticked sends no items at all: that is not "all of them".
        if not item_ids:
            raise ValidationFailed("choose at least one item", details={"field": "item_ids"})
        params["item_ids"] = list(item_ids)
    return params


def request_remedy(
    uow: PortalUnit,
    customer_id: str,
    now: datetime,
    *,
    remedy_id: str,
    order_id: str,
    reason: str | None,
    item_ids: list[str] | None,
    confirmed: bool,
    idempotency_key: str | None,
    mailer: CustomerMailer | None = None,
    orders_link: str = "",
) -> SelfServiceOutcome:
    """Grant a self-service remedy the customer asked for, through the agents' grant path.

    Only remedies the policy marks `self_service` are taken; everything else (eligibility,
    authority, guardrails, the ledger, the audit) is exactly what an agent's grant gets.
    With a `mailer`, the customer also gets the outcome by email.
    """
    loaded = active_policy(uow)
    choice = next((c for c in self_service_choices(loaded.policy) if c[0].id == remedy_id), None)
    if choice is None:
        raise DomainError(
            "this is not something you can do yourself here; write to us and we will help",
            code=ErrorCode.NOT_ELIGIBLE,
            details={"remedy": remedy_id, "rule": f"remedies.{remedy_id}.self_service"},
        )
    with uow:
        order = uow.orders.get(order_id)
        if order is None or order.customer_id != customer_id:
            raise NotFound("order", order_id)
    params = _request_params(choice[0].kind, reason, item_ids)
    outcome = grants.grant_for_customer(
        uow,
        portal_actor(customer_id),
        now,
        customer_id,
        remedy_id,
        params=params,
        order_id=order_id,
        idempotency_key=idempotency_key,
        confirmed=confirmed,
        actor_kind=grants.PORTAL,
        together_with=tuple(p.id for p in choice[1]),
    )
    result = SelfServiceOutcome(
        grant_id=outcome.grant.id,
        summary=outcome.grant.summary,
        customer_note=outcome.customer_note,
        awaiting_approval=outcome.approval is not None,
        replayed=outcome.replayed,
    )
    if mailer is not None and not result.replayed:
        _confirm_by_mail(uow, mailer, now, customer_id, order_id, result, orders_link)
    return result


def _confirm_by_mail(
    uow: PortalUnit,
    mailer: CustomerMailer,
    now: datetime,
    customer_id: str,
    order_id: str,
    outcome: SelfServiceOutcome,
    orders_link: str,
) -> None:
    """The grant has no case to carry the customer's message, so it goes by mail. This runs
    after the grant committed: a grant must never wait on (or be undone by) its email."""
    if outcome.awaiting_approval:
        text = (
            f"We have your request about order {order_id}. It needs a quick look from our "
            "team; we will write again as soon as it is done."
        )
    else:
        text = outcome.customer_note
    with uow:
        customer = uow.customers.get(customer_id)
        if customer is None or customer.primary_email is None:
            return
        mailer.send(
            uow,
            CustomerMail(
                customer_id=customer_id,
                to=customer.primary_email,
                subject=f"Your order {order_id}",
                text=f"{text}\n\nYour orders: {orders_link}" if orders_link else text,
                link=orders_link,
                template=NOTIFICATION_TEMPLATE,
                customer_name=customer.first_name,
            ),
            now,
        )
        uow.commit()
