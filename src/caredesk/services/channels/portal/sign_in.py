"""Signing in to the portal: mailed single-use links, sessions, and the actor a customer is."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from caredesk.domain.agents import SYSTEM, Actor, Permission, Role
from caredesk.domain.customers import Customer, normalise_email
from caredesk.domain.errors import DomainError, ErrorCode, Unauthenticated, must_exist
from caredesk.domain.portal import PortalSession, SignInRequest, email_key
from caredesk.domain.tokens import live_session
from caredesk.services.access.secrets import hash_secret
from caredesk.services.access.throttling import Attempt, ThrottleRules
from caredesk.services.channels.portal.customer_mail import (
    SIGN_IN_TEMPLATE,
    CustomerMail,
    CustomerMailer,
)
from caredesk.services.channels.unit import PortalUnit
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command

RATE_WINDOW = timedelta(hours=1)
PORTAL_SESSION_ENDED = "your portal session has ended; ask for a new sign-in link"


def client_key(client: str) -> str:
    return hashlib.sha256(f"client:{client}".encode()).hexdigest()


def portal_actor(customer_id: str) -> Actor:
    """The customer acting for themselves: bound to one customer, the services it calls
    reach that customer's records and nobody else's."""
    return Actor(role=Role.AGENT, customer_id=customer_id)


@dataclass(frozen=True, slots=True)
class SignInLimits:
    link_ttl: timedelta
    per_address_per_hour: int
    per_client_per_hour: int


@command
def request_sign_in(
    uow: PortalUnit,
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
        over = _limit_reached(uow, now, key, client_id, limits)
        if over is not None:
            # Filed under the address's hash, known or not: the trail holds no address typed.
            publish_change(
                uow,
                SYSTEM,
                now,
                "portal.link_throttled",
                "portal_sign_in",
                key,
                after={"client": client, "limit": over},
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
        _mail_link(uow, mailer, now, owner, address, link_for(secret), limits.link_ttl)
        uow.commit()


def _limit_reached(
    uow: PortalUnit, now: datetime, key: str, client_id: str, limits: SignInLimits
) -> str | None:
    """Which hourly limit the request is over, the address's or the client's, if any."""
    since = now - RATE_WINDOW
    if (
        uow.portal.sign_ins_since(email_key=key, client_key=None, since=since)
        >= limits.per_address_per_hour
    ):
        return "address"
    if (
        uow.portal.sign_ins_since(email_key=None, client_key=client_id, since=since)
        >= limits.per_client_per_hour
    ):
        return "client"
    return None


def _mail_link(
    uow: PortalUnit,
    mailer: CustomerMailer,
    now: datetime,
    owner: str,
    address: str,
    link: str,
    link_ttl: timedelta,
) -> None:
    minutes = max(1, int(link_ttl.total_seconds() // 60))
    mailer.send(
        uow,
        CustomerMail(
            customer_id=owner,
            to=address,
            subject="Your sign-in link",
            text=(
                f"Use this link to see your cases and orders. It works once, for {minutes} minutes:"
            ),
            link=link,
            template=SIGN_IN_TEMPLATE,
        ),
        now,
    )
    publish_change(uow, portal_actor(owner), now, "portal.link_requested", "customer", owner)


@command
def issue_link(
    uow: PortalUnit,
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
        owner = must_exist(uow.customers.email_owner(address), "customer with address", address)
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
        publish_change(uow, actor, now, "portal.link_issued", "customer", owner)
        uow.commit()
        return link_for(secret)


@dataclass(frozen=True, slots=True)
class IssuedPortalSession:
    session: PortalSession
    secret: str


@command
def redeem_link(
    uow: PortalUnit,
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
        publish_change(
            uow, portal_actor(customer_id), now, "portal.signed_in", "customer", customer_id
        )
        uow.commit()
        return IssuedPortalSession(session, session_secret)


def session_customer(uow: PortalUnit, secret: str, now: datetime) -> Customer:
    with uow:
        found = uow.portal.session_by_hash(hash_secret(secret))
        session = live_session(found, now, PORTAL_SESSION_ENDED)
        customer = uow.customers.get(session.customer_id)
        if customer is None:
            raise Unauthenticated(PORTAL_SESSION_ENDED)
        return customer


@command
def sign_out(uow: PortalUnit, secret: str, now: datetime) -> None:
    with uow:
        session = uow.portal.session_by_hash(hash_secret(secret))
        if session is not None and session.end(now):
            uow.portal.save_session(session)
            uow.commit()
