"""The customer portal: magic-link sign-in, the customer's own cases, self-service, CSAT.

A customer acts through an `Actor` bound to their customer id (`portal_actor`), so every
write goes through the same services as an agent's: cases through `services/cases/cases.py`,
remedies through `services/engine/grants/` and the policy in force, and every change is audited
under `customer:<id>`. A customer only ever reaches their own records: anything else is
"not found", never "forbidden", so ids cannot be probed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from caredesk.domain.agents import SYSTEM, Actor, Permission, Role
from caredesk.domain.attachments import AttachmentLimits
from caredesk.domain.cases import Case, Channel, Message, MessageKind
from caredesk.domain.customers import Customer, normalise_email
from caredesk.domain.errors import (
    DomainError,
    ErrorCode,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from caredesk.domain.events import Changed
from caredesk.domain.orders import Order
from caredesk.domain.policy.eligibility import refusals
from caredesk.domain.policy.model import Policy, RemedyDef, RemedyKind
from caredesk.domain.portal import CsatSurvey, PortalSession, SignInRequest, email_key
from caredesk.services.access.secrets import hash_secret
from caredesk.services.access.throttling import Attempt, ThrottleRules
from caredesk.services.cases import cases
from caredesk.services.core.commands import command
from caredesk.services.core.ports import CaseFilter, Page, UnitOfWork, UnitOfWorkFactory
from caredesk.services.engine import grants
from caredesk.services.engine.facts import (
    default_params,
    load_situation,
    request_facts,
    situation_facts,
)
from caredesk.services.engine.policy import active_policy, policy_in_force
from caredesk.services.lifecycle.lifecycle import LifecycleOptions

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
RATE_WINDOW = timedelta(hours=1)
SIGN_IN_TEMPLATE, SURVEY_TEMPLATE, NOTIFICATION_TEMPLATE = (
    "magic_link",
    "csat_survey",
    "notification",
)


def client_key(client: str) -> str:
    return hashlib.sha256(f"client:{client}".encode()).hexdigest()


def portal_actor(customer_id: str) -> Actor:
    """The customer acting for themselves: bound to one customer, the services it calls
    reach that customer's records and nobody else's."""
    return Actor(role=Role.AGENT, customer_id=customer_id)


# --- mail to the customer ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CustomerMail:
    """A message to a customer: `text` says what it is about and `link` is what to click.

    `template` names the mail template that frames them (`magic_link`, `csat_survey`), so a
    store can reword the mail without touching the portal.
    """

    customer_id: str
    to: str
    subject: str
    text: str
    link: str
    template: str
    customer_name: str = ""
    case_id: int | None = None


class CustomerMailer(Protocol):
    def send(self, uow: UnitOfWork, mail: CustomerMail, now: datetime) -> None:
        """Send (or queue) a message to a customer within the caller's unit of work, so it
        leaves only if the change that caused it commits."""
        ...


@dataclass
class MemoryOutbox:
    """Keeps what would be sent: for tests and for a desk with no outbound mail set up."""

    sent: list[CustomerMail] = field(default_factory=list)
    limit: int = 1000

    def send(self, uow: UnitOfWork, mail: CustomerMail, now: datetime) -> None:
        self.sent.append(mail)
        del self.sent[: -self.limit]

    def last_to(self, address: str) -> CustomerMail | None:
        return next((m for m in reversed(self.sent) if m.to == address.lower()), None)


# --- signing in -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignInLimits:
    link_ttl: timedelta
    per_address_per_hour: int
    per_client_per_hour: int


@command
def request_sign_in(
    uow: UnitOfWork,
    mailer: CustomerMailer,
    now: datetime,
    *,
    email: str,
    client: str,
    link_for: Callable[[str], str],
    limits: SignInLimits,
) -> None:
    """Mail a single-use sign-in link if the address is a customer's.

    Returns nothing on purpose: the caller shows the same answer whether the address is
    known, unknown, malformed or over its rate limit, so the form reveals no accounts.
    """
    try:
        address = normalise_email(email)
    except DomainError:
        return
    key, client_id = email_key(address), client_key(client)
    with uow:
        since = now - RATE_WINDOW
        over = None
        if (
            uow.portal.sign_ins_since(email_key=key, client_key=None, since=since)
            >= limits.per_address_per_hour
        ):
            over = "address"
        elif (
            uow.portal.sign_ins_since(email_key=None, client_key=client_id, since=since)
            >= limits.per_client_per_hour
        ):
            over = "client"
        if over is not None:
            # Filed under the address's hash, known or not: the trail holds no address typed.
            uow.publish(
                Changed(
                    actor=SYSTEM,
                    at=now,
                    action="portal.link_throttled",
                    entity_type="portal_sign_in",
                    entity_id=key,
                    after={"client": client, "limit": over},
                )
            )
            uow.commit()
            return
        owner = uow.customers.email_owner(address)
        request = SignInRequest(
            id=None,
            email_key=key,
            client_key=client_id,
            created_at=now,
            expires_at=now + limits.link_ttl,
        )
        if owner is None:
            # Counted like a real request, so probing unknown addresses is limited too.
            uow.portal.add_sign_in(request)
            uow.commit()
            return
        secret = secrets.token_urlsafe(32)
        request.customer_id, request.token_hash = owner, hash_secret(secret)
        uow.portal.add_sign_in(request)
        minutes = max(1, int(limits.link_ttl.total_seconds() // 60))
        mailer.send(
            uow,
            CustomerMail(
                customer_id=owner,
                to=address,
                subject="Your sign-in link",
                text=(
                    "Use this link to see your cases and orders. It works once, "
                    f"for {minutes} minutes:"
                ),
                link=link_for(secret),
                template=SIGN_IN_TEMPLATE,
            ),
            now,
        )
        uow.publish(
            Changed(
                actor=portal_actor(owner),
                at=now,
                action="portal.link_requested",
                entity_type="customer",
                entity_id=owner,
            )
        )
        uow.commit()


@command
def issue_link(
    uow: UnitOfWork,
    actor: Actor,
    now: datetime,
    *,
    email: str,
    link_for: Callable[[str], str],
    ttl: timedelta,
) -> str:
    """A sign-in link for a customer, handed to an admin instead of mailed (a desk without
    outbound mail yet, the demo, support on the phone). Admins only, and audited."""
    actor.require(Permission.MANAGE_TOKENS)
    address = normalise_email(email)
    with uow:
        owner = uow.customers.email_owner(address)
        if owner is None:
            raise NotFound("customer with address", address)
        secret = secrets.token_urlsafe(32)
        uow.portal.add_sign_in(
            SignInRequest(
                id=None,
                email_key=email_key(address),
                client_key=client_key(f"issued:{actor.ref}"),
                created_at=now,
                expires_at=now + ttl,
                customer_id=owner,
                token_hash=hash_secret(secret),
            )
        )
        uow.publish(
            Changed(
                actor=actor,
                at=now,
                action="portal.link_issued",
                entity_type="customer",
                entity_id=owner,
            )
        )
        uow.commit()
        return link_for(secret)


@dataclass(frozen=True, slots=True)
class IssuedPortalSession:
    session: PortalSession
    secret: str


@command
def redeem_link(
    uow: UnitOfWork,
    now: datetime,
    secret: str,
    ttl: timedelta,
    *,
    client: str,
    rules: ThrottleRules,
) -> IssuedPortalSession:
    """Trade a sign-in link (once, before it expires) for a portal session.

    A link that is not valid (unknown, used, expired) counts against the client address
    like a wrong password, so links cannot be guessed at speed."""
    with uow:
        attempt = Attempt.begin(uow, rules, client=client)
        attempt.check(now)
        request = uow.portal.sign_in_by_hash(hash_secret(secret))
        try:
            if request is None:
                raise DomainError("this sign-in link is not valid", code=ErrorCode.TOKEN_INVALID)
            customer_id = request.redeem(now)
        except DomainError as refusal:
            attempt.failed(
                uow,
                now,
                action="portal.link_failed",
                entity_type="client",
                entity_id=client,
                after={"code": refusal.code.value},
            )
            uow.commit()
            raise
        uow.portal.save_sign_in(request)
        session_secret = secrets.token_urlsafe(32)
        session = PortalSession(
            id=None,
            customer_id=customer_id,
            token_hash=hash_secret(session_secret),
            created_at=now,
            expires_at=now + ttl,
        )
        uow.portal.add_session(session)
        uow.publish(
            Changed(
                actor=portal_actor(customer_id),
                at=now,
                action="portal.signed_in",
                entity_type="customer",
                entity_id=customer_id,
            )
        )
        uow.commit()
        return IssuedPortalSession(session, session_secret)


def session_customer(uow: UnitOfWork, secret: str, now: datetime) -> Customer:
    with uow:
        session = uow.portal.session_by_hash(hash_secret(secret))
        if session is None or not session.is_live(now):
            raise Unauthenticated("your portal session has ended; ask for a new sign-in link")
        customer = uow.customers.get(session.customer_id)
        if customer is None:
            raise Unauthenticated("your portal session has ended; ask for a new sign-in link")
        return customer


@command
def sign_out(uow: UnitOfWork, secret: str, now: datetime) -> None:
    with uow:
        session = uow.portal.session_by_hash(hash_secret(secret))
        if session is not None and session.revoked_at is None:
            session.revoked_at = now
            uow.portal.save_session(session)
            uow.commit()


# --- the customer's cases ---------------------------------------------------------------------


def _own_case(uow: UnitOfWork, customer_id: str, case_id: int) -> Case:
    case = uow.cases.get(case_id)
    if case is None or case.customer_id != customer_id:
        raise NotFound("case", case_id)
    return case


def my_cases(
    uow: UnitOfWork, customer_id: str, limit: int = 50, cursor: str | None = None
) -> Page[Case]:
    with uow:
        return uow.cases.find(CaseFilter(customer_id=customer_id), limit, cursor)


@dataclass(frozen=True, slots=True)
class CaseConversation:
    case: Case
    messages: list[Message]
    survey: CsatSurvey | None


def my_case(uow: UnitOfWork, customer_id: str, case_id: int) -> CaseConversation:
    """The case and everything said on it to or by the customer; internal notes never."""
    with uow:
        case = _own_case(uow, customer_id, case_id)
        messages = [m for m in uow.cases.messages(case_id) if m.is_public]
        return CaseConversation(case, messages, uow.portal.survey_for_case(case_id))


def my_attachment(uow: UnitOfWork, customer_id: str, case_id: int, sha256: str) -> bytes:
    """An attachment of a public message on the customer's own case."""
    with uow:
        _own_case(uow, customer_id, case_id)
        attached = any(
            a.sha256 == sha256
            for m in uow.cases.messages(case_id)
            if m.is_public
            for a in m.attachments
        )
        content = uow.blobs.get(sha256) if attached else None
        if content is None:
            raise NotFound("attachment", sha256)
        return content


def reply(
    uow: UnitOfWork,
    customer_id: str,
    now: datetime,
    case_id: int,
    *,
    body: str,
    attachments: list[cases.NewAttachment],
    attachment_limits: AttachmentLimits,
    lifecycle_options: LifecycleOptions | None = None,
) -> Message:
    """The customer writes on their case (theirs only); a solved or pending case opens again,
    and a reply long after it was solved opens a follow-up, as by email."""
    return cases.add_message(
        uow,
        portal_actor(customer_id),
        now,
        case_id,
        kind=MessageKind.INBOUND,
        body=body,
        attachments=attachments,
        attachment_limits=attachment_limits,
        lifecycle_options=lifecycle_options,
    )


def open_case(
    uow: UnitOfWork,
    customer_id: str,
    now: datetime,
    *,
    subject: str,
    body: str,
    order_id: str | None,
    attachments: list[cases.NewAttachment],
    attachment_limits: AttachmentLimits,
) -> Case:
    """A new case from the portal; an order named must be the customer's own."""
    if not body.strip():
        raise DomainError("tell us what happened", code=ErrorCode.VALIDATION_ERROR,
                          details={"field": "body"})  # fmt: skip
    view = cases.create_case(
        uow,
        portal_actor(customer_id),
        now,
        customer_id=customer_id,
        subject=subject,
        body=body,
        channel=Channel.PORTAL,
        order_ids=[order_id] if order_id else None,
        attachments=attachments,
        attachment_limits=attachment_limits,
    )
    return view.case


def my_orders(uow: UnitOfWork, customer_id: str) -> list[Order]:
    with uow:
        return uow.orders.for_customer(customer_id)


# --- self-service remedies --------------------------------------------------------------------


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
    uow: UnitOfWork, customer_id: str, now: datetime, order_id: str | None = None
) -> list[OrderSelfService]:
    """For each of the customer's orders (or one), the self-service remedies and whether the
    policy in force allows each now: the same rules a grant checks, asked in advance."""
    actor = portal_actor(customer_id)
    with uow:
        customer = uow.customers.get(customer_id)
        if customer is None:
            raise NotFound("customer", customer_id)
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
                uow, policy, now, customer=customer, case=None, order_id=order.id
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
    uow: UnitOfWork,
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
    uow: UnitOfWork,
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


# --- CSAT -------------------------------------------------------------------------------------


@command
def send_survey(
    uow: UnitOfWork,
    mailer: CustomerMailer,
    now: datetime,
    case_id: int,
    *,
    link_for: Callable[[str, int | None], str],
    valid_for: timedelta,
) -> CsatSurvey | None:
    """Mail the satisfaction survey of a solved case, once. None when there is nobody to ask
    (no address) or the case already has its survey."""
    with uow:
        case = uow.cases.get(case_id)
        if case is None:
            raise NotFound("case", case_id)
        if case.solved_at is None:
            raise DomainError(
                "a survey is sent once the case is solved",
                code=ErrorCode.INVALID_TRANSITION,
                details={"status": case.status.value},
            )
        if uow.portal.survey_for_case(case_id) is not None:
            return None
        customer = uow.customers.get(case.customer_id)
        if customer is None or not customer.emails:
            return None
        secret = secrets.token_urlsafe(32)
        survey = CsatSurvey(
            id=None,
            case_id=case_id,
            customer_id=case.customer_id,
            token_hash=hash_secret(secret),
            sent_at=now,
            expires_at=now + valid_for,
            comment="",
        )
        uow.portal.add_survey(survey)
        choices = "\n".join(
            f"  {score} - {label}: {link_for(secret, score)}"
            for score, label in reversed(list(enumerate(SCORE_LABELS, start=1)))
        )
        mailer.send(
            uow,
            CustomerMail(
                customer_id=case.customer_id,
                to=customer.emails[0],
                subject="How did we do?",
                text=(
                    f"Your case \u201c{case.subject}\u201d is solved. How did we do? "
                    f"One click records your answer:\n\n{choices}\n\n"
                    "Or choose on the survey page, where you can also add a comment:"
                ),
                link=link_for(secret, None),
                template=SURVEY_TEMPLATE,
                customer_name=customer.first_name,
                case_id=case_id,
            ),
            now,
        )
        uow.publish(
            Changed(
                actor=portal_actor(case.customer_id),
                at=now,
                action="csat.sent",
                entity_type="case",
                entity_id=case_id,
                case_id=case_id,
            )
        )
        uow.commit()
        return survey


SCORE_LABELS = ("very unhappy", "unhappy", "neutral", "happy", "very happy")


def survey_links(portal_url: str) -> Callable[[str, int | None], str]:
    """Survey links under the portal's address: the page, or the page with a score chosen."""
    base = portal_url.rstrip("/")

    def link(secret: str, score: int | None) -> str:
        return f"{base}/csat/{secret}" + (f"?score={score}" if score is not None else "")

    return link


def send_due_surveys(
    uow: UnitOfWorkFactory,
    mailer: CustomerMailer,
    now: datetime,
    *,
    link_for: Callable[[str, int | None], str],
    valid_for: timedelta,
    solved_within: timedelta = timedelta(days=7),
    limit: int = 200,
) -> int:
    """Send the survey of every case solved lately that has none yet; returns how many.

    Run from a worker's timer or `caredesk portal send-surveys`; each survey is its own
    transaction, so one failure does not hold back the others.
    """
    with uow() as read:
        due = read.portal.solved_without_survey(solved_since=now - solved_within, limit=limit)
    sent = 0
    for item in due:
        try:
            survey = send_survey(
                uow(), mailer, now, item.case_id, link_for=link_for, valid_for=valid_for
            )
        except DomainError:
            continue
        sent += survey is not None
    return sent


@dataclass(frozen=True, slots=True)
class SurveyView:
    survey: CsatSurvey
    case_subject: str


def open_survey(uow: UnitOfWork, secret: str) -> SurveyView:
    with uow:
        survey = uow.portal.survey_by_hash(hash_secret(secret))
        if survey is None:
            raise NotFound("survey", "link")
        case = uow.cases.get(survey.case_id)
        return SurveyView(survey, case.subject if case else "")


@command
def answer_survey(
    uow: UnitOfWork, now: datetime, secret: str, *, score: int | None, comment: str | None
) -> SurveyView:
    """Record the score (one click from the mail) and later an optional comment; audited on
    the case. The link is the credential: it works without signing in, until it closes."""
    with uow:
        survey = uow.portal.survey_by_hash(hash_secret(secret))
        if survey is None:
            raise NotFound("survey", "link")
        before = {"score": survey.score, "comment": survey.comment}
        survey.answer(now, score, comment)
        uow.portal.save_survey(survey)
        uow.publish(
            Changed(
                actor=portal_actor(survey.customer_id),
                at=now,
                action="csat.answered",
                entity_type="case",
                entity_id=survey.case_id,
                case_id=survey.case_id,
                before=before,
                after={"score": survey.score, "comment": survey.comment},
            )
        )
        case = uow.cases.get(survey.case_id)
        uow.commit()
        return SurveyView(survey, case.subject if case else "")


def case_csat(uow: UnitOfWork, actor: Actor, case_id: int) -> CsatSurvey | None:
    actor.require(Permission.READ)
    with uow:
        if uow.cases.get(case_id) is None:
            raise NotFound("case", case_id)
        return uow.portal.survey_for_case(case_id)


@dataclass(frozen=True, slots=True)
class CsatReport:
    responses: list[CsatSurvey]
    answered: int
    average: Decimal | None
    satisfied_share: Decimal | None


def csat_report(uow: UnitOfWork, actor: Actor, *, since: datetime | None, limit: int) -> CsatReport:
    """Answered surveys, newest first, with the average score and the CSAT share (4s and 5s)
    over the responses returned."""
    actor.require(Permission.READ)
    with uow:
        responses = uow.portal.surveys(answered_since=since, limit=limit)
    scores = [s.score for s in responses if s.score is not None]
    if not scores:
        return CsatReport(responses, 0, None, None)
    average = (Decimal(sum(scores)) / len(scores)).quantize(Decimal("0.01"))
    share = (Decimal(sum(1 for s in scores if s >= 4)) / len(scores)).quantize(Decimal("0.001"))
    return CsatReport(responses, len(scores), average, share)
