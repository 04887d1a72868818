"""Agents, API tokens and console sessions. Secrets are shown once and stored as hashes."""

from __future__ import annotations

import secrets
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

from caredesk.domain.agents import (
    ROLE_PERMISSIONS,
    SYSTEM,
    Actor,
    Agent,
    Permission,
    Role,
    Team,
    check_time_zone,
)
from caredesk.domain.audit import AuditEvent
from caredesk.domain.customers import normalise_email
from caredesk.domain.errors import (
    Conflict,
    DomainError,
    ErrorCode,
    Forbidden,
    NotFound,
    Unauthenticated,
    ValidationFailed,
    must_exist,
)
from caredesk.domain.mail import INBOUND_SCOPE
from caredesk.domain.rates import Rate
from caredesk.domain.throttling import ThrottleKind, throttle_key
from caredesk.domain.tokens import ApiToken, ConsoleSession, live_session
from caredesk.services.access.ports import PasswordHasher
from caredesk.services.access.secrets import hash_secret
from caredesk.services.access.throttling import Attempt, ThrottleRules
from caredesk.services.access.unit import AccessUnit
from caredesk.services.channels.tools import TOOL_NAMES
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command
from caredesk.services.core.reads import read, read_one

TOKEN_PREFIX = "cdk_"
MIN_PASSWORD_LENGTH = 10
# Refreshing last_used_at on every call would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: ApiToken
    secret: str


@dataclass(frozen=True, slots=True)
class IssuedConsoleSession:
    session: ConsoleSession
    secret: str
    agent: Agent


@command
def create_team(uow: AccessUnit, actor: Actor, now: datetime, name: str) -> Team:
    actor.require(Permission.MANAGE_AGENTS)
    with uow:
        team = Team(id=None, name=name)  # the team normalises and checks its own name
        if uow.teams.get_by_name(team.name) is not None:
            raise Conflict(f"team {team.name!r} already exists", details={"name": team.name})
        uow.teams.add(team)
        publish_change(uow, actor, now, "team.created", "team", team.id, after={"name": team.name})
        uow.commit()
        return team


@command
def create_agent(
    uow: AccessUnit,
    actor: Actor,
    hasher: PasswordHasher,
    now: datetime,
    *,
    email: str,
    name: str,
    role: Role,
    password: str | None,
    team_names: list[str] | None = None,
) -> Agent:
    actor.require(Permission.MANAGE_AGENTS)
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters",
            details={"field": "password"},
        )
    with uow:
        address = normalise_email(email).lower()
        if uow.agents.get_by_email(address) is not None:
            raise DomainError(f"an agent with {address} exists", code=ErrorCode.DUPLICATE_EMAIL)
        team_ids = []
        for team_name in team_names or []:
            team = must_exist(uow.teams.get_by_name(team_name), "team", team_name)
            assert team.id is not None
            team_ids.append(team.id)
        agent = Agent(
            id=None,
            email=address,
            name=name.strip(),
            role=role,
            password_hash=hasher.hash(password) if password else None,
            team_ids=team_ids,
        )
        uow.agents.add(agent)
        publish_change(
            uow,
            actor,
            now,
            "agent.created",
            "agent",
            agent.id,
            after={"email": agent.email, "role": role.value, "team_ids": team_ids},
        )
        uow.commit()
        return agent


def list_agents(uow: AccessUnit, actor: Actor) -> list[Agent]:
    return read(uow, actor, Permission.READ, lambda u: u.agents.all())


def list_teams(uow: AccessUnit, actor: Actor) -> list[Team]:
    return read(uow, actor, Permission.READ, lambda u: u.teams.all())


def find_agent(uow: AccessUnit, actor: Actor, email: str) -> Agent:
    """The agent with this sign-in address (how people name agents on the command line)."""
    return read_one(
        uow, actor, Permission.READ, lambda u: u.agents.get_by_email(email), "agent", email
    )


def find_team(uow: AccessUnit, actor: Actor, name: str) -> Team:
    return read_one(uow, actor, Permission.READ, lambda u: u.teams.get_by_name(name), "team", name)


@command
def create_token(
    uow: AccessUnit,
    actor: Actor,
    now: datetime,
    *,
    name: str,
    role: Role,
    agent_id: int | None = None,
    expires_at: datetime | None = None,
    customer_id: str | None = None,
    tools: list[str] | None = None,
    rate_limit: str | None = None,
) -> IssuedToken:
    actor.require(Permission.MANAGE_TOKENS)
    _check_issuer(actor, role, agent_id)
    if expires_at is not None and expires_at <= now:
        raise ValidationFailed("expiry must be in the future", details={"field": "expires_at"})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    rate = Rate.parse(rate_limit) if rate_limit is not None else None
    if tools is not None:
        _check_tools(tools)
    with uow:
        if agent_id is not None and uow.agents.get(agent_id) is None:
            raise NotFound("agent", agent_id)
        if customer_id is not None and uow.customers.get(customer_id) is None:
            raise NotFound("customer", customer_id)
        token = ApiToken(
            id=None,
            name=name,
            role=role,
            token_hash=hash_secret(secret),
            prefix=secret[:10],
            created_at=now,
            agent_id=agent_id,
            expires_at=expires_at,
            customer_id=customer_id,
            tools=sorted(set(tools)) if tools is not None else None,
            rate_limit=rate,
        )
        uow.tokens.add(token)
        publish_change(
            uow,
            actor,
            now,
            "token.created",
            "token",
            token.id,
            after={
                "name": name,
                "role": role.value,
                "agent_id": agent_id,
                "customer_id": customer_id,
                "tools": token.tools,
                "rate_limit": str(rate) if rate else None,
            },
        )
        uow.commit()
        return IssuedToken(token, secret)


def _check_issuer(actor: Actor, role: Role, agent_id: int | None) -> None:
    """Nobody issues a token that may do more than they may, or that speaks for another."""
    if not ROLE_PERMISSIONS[role] <= ROLE_PERMISSIONS[actor.role]:
        raise Forbidden(f"a {actor.role.value} cannot issue a {role.value} token")
    if agent_id is not None and actor != SYSTEM and agent_id != actor.agent_id:
        # A token bound to an agent acts as that person, and four eyes (approvals, policy
        # changes) count persons: nobody mints one for somebody else. The operator's CLI,
        # which runs as the system on the server itself, still may.
        raise Forbidden(
            "a token can speak only for the agent who issues it",
            details={"field": "agent_id"},
        )


def _check_tools(tools: list[str]) -> None:
    # Besides tools, a token may carry the inbound-mail scope (the MIME webhook only).
    unknown = sorted(set(tools) - TOOL_NAMES - {INBOUND_SCOPE})
    if unknown or not tools:
        raise ValidationFailed(
            f"unknown tools: {', '.join(unknown)}" if unknown else "name at least one tool",
            details={"field": "tools", "known": sorted(TOOL_NAMES | {INBOUND_SCOPE})},
        )


def list_tokens(uow: AccessUnit, actor: Actor) -> list[ApiToken]:
    return read(uow, actor, Permission.MANAGE_TOKENS, lambda u: u.tokens.all())


@command
def revoke_token(uow: AccessUnit, actor: Actor, now: datetime, token_id: int) -> ApiToken:
    actor.require(Permission.MANAGE_TOKENS)
    with uow:
        token = must_exist(uow.tokens.get(token_id), "token", token_id)
        if token.revoked_at is None:
            token.revoked_at = now
            uow.tokens.save(token)
            publish_change(uow, actor, now, "token.revoked", "token", token_id)
            uow.commit()
        return token


@command
def revoke_tokens_named(uow: AccessUnit, actor: Actor, now: datetime, name: str) -> int:
    """Revoke every live token with this name (used when the demo issues a fresh one)."""
    actor.require(Permission.MANAGE_TOKENS)
    with uow:
        count = 0
        for token in uow.tokens.all():
            if token.name == name and token.revoked_at is None:
                token.revoked_at = now
                uow.tokens.save(token)
                publish_change(uow, actor, now, "token.revoked", "token", token.id)
                count += 1
        uow.commit()
        return count


@dataclass(frozen=True, slots=True)
class TokenHolder:
    """Who a token speaks for, and the request rate it has of its own (if any)."""

    token_id: int
    actor: Actor
    rate_limit: Rate | None


def _usable_token(uow: AccessUnit, secret: str, now: datetime) -> ApiToken:
    """The token, checked."""
    token = uow.tokens.get_by_hash(hash_secret(secret))
    if token is None:
        raise DomainError("the API token is not valid", code=ErrorCode.TOKEN_INVALID)
    token.check_usable(now)
    if token.agent_id is not None:
        agent = uow.agents.get(token.agent_id)
        if agent is None or not agent.active:
            raise DomainError(
                "the token's agent is deactivated",
                code=ErrorCode.TOKEN_REVOKED,
                details={"token_id": token.id},
            )
    return token


def identify_token(uow: AccessUnit, secret: str, now: datetime) -> TokenHolder:
    """The token of a command-line or tool session, its use recorded on the spot (a serving
    process notes uses in TokenUses instead)."""
    with uow:
        token = _usable_token(uow, secret, now)
        assert token.id is not None
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            uow.tokens.record_uses({token.id: now})
            uow.commit()
        return TokenHolder(token.id, token.actor(), token.rate_limit)


def authenticate_token(uow: AccessUnit, secret: str, now: datetime) -> Actor:
    return identify_token(uow, secret, now).actor


@command
def use_token(
    reader: AccessUnit,
    writer: AccessUnit,
    secret: str,
    now: datetime,
    *,
    client: str,
    rules: ThrottleRules,
) -> TokenHolder:
    """A token presented from a client address: unknown, expired and revoked ones count as
    failures of that address, which is then made to wait and locked like a password
    guesser; while it waits even a good token is refused, so a lucky guess looks the same.

    A good token is only read (`reader`: every API call passes here, and a read must not
    queue for the write lock); a refusal is counted in `writer`. The caller notes the use."""
    with reader:
        attempt = Attempt.begin(reader, rules, client=client, for_change=False)
        attempt.check(now)
        try:
            token = _usable_token(reader, secret, now)
        except DomainError as refusal:
            refused = refusal
        else:
            assert token.id is not None
            return TokenHolder(token.id, token.actor(), token.rate_limit)
    known = refused.details.get("token_id")
    with writer:
        attempt.failed(
            writer,
            now,
            action="token.failed",
            entity_type="token" if known is not None else "client",
            entity_id=known if known is not None else client,
            after={"code": refused.code.value},
        )
        writer.commit()
    raise refused


@command
def login(
    uow: AccessUnit,
    hasher: PasswordHasher,
    now: datetime,
    *,
    email: str,
    password: str,
    ttl: timedelta,
    client: str,
    rules: ThrottleRules,
) -> IssuedConsoleSession:
    """Sign an agent in from a client address.

    Unknown and known addresses take the same path: the same throttles (the account's is
    keyed by the address typed, agent or not), the same password hashing, the same writes
    and the same answers, so that neither the answers nor their timing reveal an account.
    """
    with uow:
        attempt = Attempt.begin(uow, rules, client=client, account=email)
        attempt.check(now)
        agent = uow.agents.get_by_email(email)
        # Verify against a hash even for unknown addresses, so timing does not reveal accounts.
        stored = agent.password_hash if agent and agent.password_hash else None
        valid = hasher.verify(stored or _DUMMY_HASH.get(hasher), password)
        if agent is None or not agent.active or stored is None or not valid:
            assert attempt.account is not None
            attempt.failed(
                uow,
                now,
                action="sign_in.failed",
                # An address no agent has is filed under its hash, never the address typed.
                entity_type="agent" if agent is not None else "account",
                entity_id=agent.id if agent is not None else attempt.account.key,
            )
            uow.commit()
            raise DomainError("email or password is wrong", code=ErrorCode.INVALID_CREDENTIALS)
        assert agent.id is not None
        attempt.succeeded(uow)
        secret = secrets.token_urlsafe(32)
        session = ConsoleSession(
            id=None,
            agent_id=agent.id,
            token_hash=hash_secret(secret),
            created_at=now,
            expires_at=now + ttl,
        )
        uow.console_sessions.add(session)
        publish_change(uow, agent.actor(), now, "agent.signed_in", "agent", agent.id)
        uow.commit()
        return IssuedConsoleSession(session, secret, agent)


class _DummyHash:
    """One throwaway hash per hasher, computed lazily on the first failed lookup: made by the
    hasher that verifies it, it costs what a real account's hash costs with that hasher."""

    def __init__(self) -> None:
        self._values: weakref.WeakKeyDictionary[PasswordHasher, str] = weakref.WeakKeyDictionary()

    def get(self, hasher: PasswordHasher) -> str:
        value = self._values.get(hasher)
        if value is None:
            value = self._values[hasher] = hasher.hash(secrets.token_urlsafe(16))
        return value


_DUMMY_HASH = _DummyHash()


def session_agent(uow: AccessUnit, secret: str, now: datetime) -> Agent:
    with uow:
        found = uow.console_sessions.get_by_hash(hash_secret(secret))
        session = live_session(found, now, "your session has ended; sign in again")
        agent = uow.agents.get(session.agent_id)
        if agent is None or not agent.active:
            raise Unauthenticated("your account is deactivated")
        return agent


@command
def logout(uow: AccessUnit, secret: str, now: datetime) -> None:
    with uow:
        session = uow.console_sessions.get_by_hash(hash_secret(secret))
        if session is not None and session.end(now):
            uow.console_sessions.save(session)
            uow.commit()


@command
def unlock_agent(uow: AccessUnit, actor: Actor, now: datetime, agent_id: int) -> Agent:
    """Lift an agent's sign-in lock and forget their failures (admins; audited)."""
    actor.require(Permission.MANAGE_AGENTS)
    with uow:
        agent = must_exist(uow.agents.get(agent_id), "agent", agent_id)
        key = throttle_key(ThrottleKind.ACCOUNT, agent.email)
        throttle = uow.throttles.get_for_change(key)
        if throttle is not None:
            uow.throttles.delete(key)
            publish_change(
                uow,
                actor,
                now,
                "sign_in.unlocked",
                "agent",
                agent_id,
                before=throttle.state(),
                after={"failures": 0, "locked_until": None},
            )
            uow.commit()
        return agent


@command
def set_time_zone(
    uow: AccessUnit, actor: Actor, now: datetime, agent_id: int, time_zone: str | None
) -> Agent:
    """The zone an agent reads times in (None: the desk's). Their own, or an admin's doing."""
    return change_agent(uow, actor, now, agent_id, AgentChange(time_zone=time_zone))


@dataclass(frozen=True, slots=True)
class AgentChange:
    """What an agent may change of themselves (an admin of anyone): `time_zone` when
    `keep_time_zone` is False, `weekly_summary` when not None."""

    time_zone: str | None = None
    keep_time_zone: bool = False
    weekly_summary: bool | None = None


@command
def change_agent(
    uow: AccessUnit, actor: Actor, now: datetime, agent_id: int, change: AgentChange
) -> Agent:
    """Change an agent's own settings in one transaction, audited as `agent.updated`. Only
    those who read every case (leads, admins) may ask for the weekly summary."""
    if actor.agent_id != agent_id:
        actor.require(Permission.MANAGE_AGENTS)
    time_zone = None if change.keep_time_zone else check_time_zone(change.time_zone)
    with uow:
        agent = must_exist(uow.agents.get(agent_id), "agent", agent_id)
        if change.weekly_summary and not agent.actor().can(Permission.APPROVE):
            raise ValidationFailed(
                "the weekly summary is for leads and admins, who read every case",
                details={"field": "weekly_summary", "role": agent.role.value,
                         "allowed": [Role.LEAD.value, Role.ADMIN.value]},
            )  # fmt: skip
        wanted: dict[str, object] = {}
        if not change.keep_time_zone:
            wanted["time_zone"] = time_zone
        if change.weekly_summary is not None:
            wanted["weekly_summary"] = change.weekly_summary
        before = {k: getattr(agent, k) for k, v in wanted.items() if getattr(agent, k) != v}
        if before:
            for name in before:
                setattr(agent, name, wanted[name])
            uow.agents.save(agent)
            after = {k: wanted[k] for k in before}
            publish_change(
                uow, actor, now, "agent.updated", "agent", agent_id, before=before, after=after
            )
            uow.commit()
        return agent


def locked_agents(uow: AccessUnit, actor: Actor, now: datetime) -> dict[int, datetime]:
    """The agents locked out of signing in now, with the end of each lock."""
    actor.require(Permission.MANAGE_AGENTS)
    with uow:
        ids_by_key = {
            throttle_key(ThrottleKind.ACCOUNT, a.email): a.id
            for a in uow.agents.all()
            if a.id is not None
        }
        return {
            ids_by_key[key]: until for key, until in uow.throttles.locked(ids_by_key, now).items()
        }


def agent_audit_trail(uow: AccessUnit, actor: Actor, agent_id: int) -> list[AuditEvent]:
    """What was done to and about an agent: sign-in failures, locks, unlocks, changes."""
    actor.require(Permission.MANAGE_AGENTS)
    with uow:
        if uow.agents.get(agent_id) is None:
            raise NotFound("agent", agent_id)
        return uow.audit.for_entity("agent", str(agent_id))
