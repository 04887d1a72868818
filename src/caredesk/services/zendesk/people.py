"""Zendesk's users: customers (`end-user`) and agents (`agent`, `admin`) listed, found,
created and exported together under their user ids.

A customer is made and changed by the customer service and an agent by the agents' service,
so roles, audit and events apply as on /api/v1; this module only finds who is meant."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from caredesk.domain.agents import Actor, Permission, Role
from caredesk.domain.customers import normalise_email
from caredesk.domain.errors import DomainError, ErrorCode, Forbidden, ValidationFailed
from caredesk.services.access import auth
from caredesk.services.access.ports import PasswordHasher
from caredesk.services.cases import customers
from caredesk.services.core.commands import command
from caredesk.services.core.ports import Page
from caredesk.services.zendesk.ports import PeopleFilter, Person, UserRef
from caredesk.services.zendesk.unit import PeopleUnit, ZendeskUnit
from caredesk.services.zendesk.users import user_ids

ROLES = ("end-user", "agent", "admin")
TAKEN = "is already being used by another user"


def people_filter(roles: Collection[str]) -> PeopleFilter:
    """Zendesk's `role` filter: `admin` is caredesk's admin, `agent` every other agent role."""
    wanted = {r.strip() for r in roles if r.strip()}
    if wanted - set(ROLES):
        raise ValidationFailed(
            f"role is one of {', '.join(ROLES)}", details={"field": "role", "value": sorted(wanted)}
        )
    if not wanted:
        return PeopleFilter()
    agent_roles = {Role.ADMIN.value} if "admin" in wanted else set()
    if "agent" in wanted:
        agent_roles |= {r.value for r in Role if r is not Role.ADMIN}
    return PeopleFilter(customers="end-user" in wanted, agent_roles=frozenset(agent_roles))


def _numbered(reader: ZendeskUnit, writer: ZendeskUnit, now: datetime) -> None:
    """Every customer and agent has a user id before a list is read, so that the user id is
    a key the list pages by. When nobody lacks one (the usual case) this costs one read."""
    with reader:
        missing = reader.zendesk_users.unnumbered()
    if missing:
        with writer:
            writer.zendesk_users.number_everyone(now)
            writer.commit()


@command
def list_people(
    reader: ZendeskUnit,
    writer: ZendeskUnit,
    actor: Actor,
    now: datetime,
    kept: PeopleFilter,
    after: int | None,
    limit: int,
) -> Page[Person]:
    """Users by ascending user id, past `after`; the next cursor is the last user id shown."""
    actor.require(Permission.READ)
    _numbered(reader, writer, now)
    with reader:
        found = reader.zendesk_users.page(kept, after, limit + 1)
    more = len(found) > limit
    return Page(found[:limit], str(found[limit - 1].user_id) if more else None)


def count_people(uow: ZendeskUnit, actor: Actor, kept: PeopleFilter) -> int:
    actor.require(Permission.READ)
    with uow:
        return uow.zendesk_users.count(kept)


def people_by_ids(uow: ZendeskUnit, actor: Actor, ids: Collection[int]) -> list[Person]:
    actor.require(Permission.READ)
    with uow:
        return uow.zendesk_users.of_ids(ids)


@command
def find_people(
    reader: ZendeskUnit,
    writer: ZendeskUnit,
    actor: Actor,
    now: datetime,
    *,
    external_id: str | None = None,
    email: str | None = None,
    text: str | None = None,
    limit: int,
) -> list[Person]:
    """Users by external id (a customer's id), by email, or by a part of a name or email;
    everyone is numbered first, so that a person never shown before is found too."""
    actor.require(Permission.READ)
    _numbered(reader, writer, now)
    with reader:
        return reader.zendesk_users.matching(
            external_id=external_id, email=email, text=text, limit=limit
        )


@command
def changed_people(
    reader: ZendeskUnit,
    writer: ZendeskUnit,
    actor: Actor,
    now: datetime,
    after: tuple[datetime, int],
    limit: int,
) -> tuple[list[tuple[datetime, Person]], bool]:
    """Users changed past `after` (a time and a user id), oldest change first, and whether
    the stream ends with them."""
    actor.require(Permission.READ)
    _numbered(reader, writer, now)
    with reader:
        found = reader.zendesk_users.changed(after, limit + 1)
    return found[:limit], len(found) <= limit


@dataclass(frozen=True, slots=True)
class NewUser:
    name: str
    email: str
    role: str = "end-user"
    external_id: str | None = None
    phone: str | None = None


def _email(value: str) -> str:
    try:
        return normalise_email(value)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, details={"field": "email"}) from exc


def _taken(exc: DomainError | None = None) -> DomainError:
    error = DomainError(TAKEN, code=ErrorCode.DUPLICATE_EMAIL, details={"field": "email"})
    error.__cause__ = exc
    return error


def _split(name: str) -> tuple[str, str]:
    first, _, last = name.strip().partition(" ")
    if not first:
        raise ValidationFailed("a user needs a name", details={"field": "name"})
    return first, last.strip()


def _owner(uow: PeopleUnit, email: str) -> UserRef | None:
    with uow:
        customer_id = uow.customers.email_owner(email)
        agent = uow.agents.get_by_email(email) if customer_id is None else None
    if customer_id is not None:
        return UserRef.customer(customer_id)
    return UserRef.agent(agent.id) if agent is not None and agent.id is not None else None


def _create(
    uow: PeopleUnit, actor: Actor, now: datetime, hasher: PasswordHasher, new: NewUser
) -> UserRef:
    actor.require(Permission.WRITE_CUSTOMERS)
    email = _email(new.email)
    first, last = _split(new.name)
    if new.role not in ROLES:
        raise ValidationFailed(f"role is one of {', '.join(ROLES)}", details={"field": "role"})
    if new.role != "end-user" and not actor.can(Permission.MANAGE_AGENTS):
        raise Forbidden(f"role {actor.role.value} may not create agents: only an admin may")
    if _owner(uow, email) is not None:
        raise _taken()
    try:
        if new.role == "end-user":
            phones = [new.phone] if new.phone else []
            made = customers.create_customer(
                uow,
                actor,
                now,
                first_name=first,
                last_name=last,
                emails=[email],
                phones=phones,
                customer_id=new.external_id,
            )
            return UserRef.customer(made.id)
        role = Role.ADMIN if new.role == "admin" else Role.AGENT
        agent = auth.create_agent(
            uow, actor, hasher, now, email=email, name=new.name, role=role, password=None
        )
    except DomainError as exc:
        if exc.code is ErrorCode.DUPLICATE_EMAIL:
            raise _taken(exc) from exc
        if exc.code is ErrorCode.DUPLICATE_ID:
            raise ValidationFailed(TAKEN, details={"field": "external_id"}) from exc
        raise
    assert agent.id is not None
    return UserRef.agent(agent.id)


def _person(uow: PeopleUnit, actor: Actor, now: datetime, ref: UserRef) -> Person:
    user_id = user_ids(uow, uow, actor, now, [ref])[ref]
    (person,) = people_by_ids(uow, actor, [user_id])
    return person


def create_user(
    uow: PeopleUnit, actor: Actor, now: datetime, hasher: PasswordHasher, new: NewUser
) -> Person:
    """A new customer (end-user) through the customer service, or a new agent (agent,
    admin) through the agents' service, which only an admin may ask for; without a
    password, an agent signs in after a reset, as one an admin adds on /api/v1."""
    return _person(uow, actor, now, _create(uow, actor, now, hasher, new))


def _matched(uow: PeopleUnit, new: NewUser) -> UserRef | None:
    if new.external_id is not None:
        with uow:
            if uow.customers.get(new.external_id) is not None:
                return UserRef.customer(new.external_id)
    return _owner(uow, _email(new.email))


def _update_customer(
    uow: PeopleUnit, actor: Actor, now: datetime, customer_id: str, new: NewUser
) -> None:
    current = customers.get_customer(uow, actor, customer_id)
    first, last = _split(new.name)
    email = _email(new.email)
    changes: dict[str, Any] = {
        "first_name": first,
        "last_name": last,
        # The address given becomes the first (Zendesk's primary); the others are kept.
        "emails": [email] + [e for e in current.emails if e != email],
    }
    if new.phone:
        changes["phones"] = [new.phone] + [p for p in current.phones if p != new.phone]
    try:
        customers.update_customer(
            uow, actor, now, customer_id, expected_version=current.version, changes=changes
        )
    except DomainError as exc:
        if exc.code is ErrorCode.DUPLICATE_EMAIL:
            raise _taken(exc) from exc
        raise


def create_or_update_user(
    uow: PeopleUnit, actor: Actor, now: datetime, hasher: PasswordHasher, new: NewUser
) -> tuple[Person, bool]:
    """The user whose external id (a customer's id), else whose email, is given, changed
    to what is sent; or a new user. True when the user is new."""
    actor.require(Permission.WRITE_CUSTOMERS)
    matched = _matched(uow, new)
    if matched is None:
        return _person(uow, actor, now, _create(uow, actor, now, hasher, new)), True
    if matched.customer_id is None:
        raise ValidationFailed(
            "this email belongs to an agent; agents are changed on /api/v1",
            details={"field": "email"},
        )
    if new.role != "end-user":
        raise ValidationFailed("a customer stays an end-user", details={"field": "role"})
    _update_customer(uow, actor, now, matched.customer_id, new)
    return _person(uow, actor, now, matched), False
