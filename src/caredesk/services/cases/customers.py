"""Customer use cases: create, read, update, delete, search."""

from __future__ import annotations

import secrets
from dataclasses import asdict
from datetime import datetime
from typing import Any

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.customers import Address, Customer, PaymentMethod, normalise_email
from caredesk.domain.errors import (
    Conflict,
    DomainError,
    ErrorCode,
    NotFound,
    must_exist,
)
from caredesk.domain.orders import Order
from caredesk.services.cases.unit import CasesUnit
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command
from caredesk.services.core.ports import Page
from caredesk.services.core.reads import read
from caredesk.services.core.updates import Audited, Changes, Update, copy_given, update_command


def _snapshot(customer: Customer) -> dict[str, Any]:
    return {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "emails": list(customer.emails),
        "phones": list(customer.phones),
        "addresses": [asdict(a) for a in customer.addresses],
        "tier": customer.tier,
        "membership": customer.membership,
    }


def _claim_emails(uow: CasesUnit, customer_id: str, emails: list[str]) -> list[str]:
    normalised: list[str] = []
    for email in emails:
        value = normalise_email(email)
        if value in normalised:
            continue
        owner = uow.customers.email_owner(value)
        if owner is not None and owner != customer_id:
            raise DomainError(
                f"{value} already belongs to another customer",
                code=ErrorCode.DUPLICATE_EMAIL,
                details={"email": value, "customer_id": owner},
            )
        normalised.append(value)
    return normalised


def new_customer_id() -> str:
    return f"cus_{secrets.token_hex(6)}"


@command
def create_customer(
    uow: CasesUnit,
    actor: Actor,
    now: datetime,
    *,
    first_name: str,
    last_name: str,
    emails: list[str],
    phones: list[str] | None = None,
    addresses: list[Address] | None = None,
    tier: str = "standard",
    membership: str | None = None,
    payment_methods: list[PaymentMethod] | None = None,
    customer_id: str | None = None,
) -> Customer:
    actor.require(Permission.WRITE_CUSTOMERS)
    with uow:
        customer = Customer(
            id=customer_id or new_customer_id(),
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            emails=emails,
            phones=[p.strip() for p in phones or [] if p.strip()],
            addresses=list(addresses or []),
            tier=tier,
            membership=membership,
            payment_methods=list(payment_methods or []),
            created_at=now,
            updated_at=now,
        )
        added_customer(uow, actor, now, customer)
        uow.commit()
        return customer


def added_customer(uow: CasesUnit, actor: Actor, now: datetime, customer: Customer) -> None:
    """Add a new customer in this unit, its emails claimed (none another customer has); the
    caller checked the actor may and commits, with whatever else the customer comes with."""
    cid = customer.id
    if uow.customers.get(cid) is not None:
        raise DomainError(f"customer {cid} already exists", code=ErrorCode.DUPLICATE_ID)
    customer.emails = _claim_emails(uow, cid, customer.emails)
    uow.customers.add(customer)
    publish_change(uow, actor, now, "customer.created", "customer", cid, after=_snapshot(customer))


def get_customer(uow: CasesUnit, actor: Actor, customer_id: str) -> Customer:
    actor.require(Permission.READ)
    actor.require_reach(customer_id)
    with uow:
        return must_exist(uow.customers.get(customer_id), "customer", customer_id)


def _customer_to_change(
    uow: CasesUnit, actor: Actor, customer_id: str, expected_version: int | None
) -> Customer:
    customer = must_exist(uow.customers.get(customer_id), "customer", customer_id)
    if customer.version != expected_version:
        raise DomainError(
            f"customer {customer_id} was changed by someone else",
            code=ErrorCode.VERSION_CONFLICT,
            details={"current_version": customer.version},
        )
    return customer


def _changed_customer(
    uow: CasesUnit, actor: Actor, now: datetime, customer: Customer, changes: Changes
) -> Customer:
    """Apply a partial update; `changes` holds only the fields the caller sent."""
    for name in ("first_name", "last_name"):
        if name in changes:
            setattr(customer, name, str(changes[name]).strip())
    if "emails" in changes:
        customer.emails = _claim_emails(uow, customer.id, changes["emails"])
    if "phones" in changes:
        customer.phones = [p.strip() for p in changes["phones"] if p.strip()]
    if "addresses" in changes:
        customer.addresses = list(changes["addresses"])
    copy_given(customer, changes, ("tier", "membership"))
    customer.updated_at = now
    uow.customers.save(customer)
    return customer


update_customer: Update[CasesUnit, str, Customer] = update_command(
    Permission.WRITE_CUSTOMERS,
    _customer_to_change,
    _changed_customer,
    audited=Audited("customer", _snapshot),
)


@command
def delete_customer(uow: CasesUnit, actor: Actor, now: datetime, customer_id: str) -> None:
    actor.require(Permission.WRITE_CUSTOMERS)
    with uow:
        customer = must_exist(uow.customers.get(customer_id), "customer", customer_id)
        if uow.customers.has_history(customer_id):
            raise Conflict(
                "a customer with orders or cases cannot be deleted; their story is kept",
                details={"customer_id": customer_id},
            )
        uow.customers.delete(customer_id)
        publish_change(
            uow, actor, now, "customer.deleted", "customer", customer_id, before=_snapshot(customer)
        )
        uow.commit()


def search_customers(
    uow: CasesUnit, actor: Actor, query: str | None, limit: int, cursor: str | None
) -> Page[Customer]:
    return read(uow, actor, Permission.READ, lambda u: u.customers.search(query, limit, cursor))


def customer_orders(uow: CasesUnit, actor: Actor, customer_id: str) -> list[Order]:
    actor.require(Permission.READ)
    actor.require_reach(customer_id)
    with uow:
        if uow.customers.get(customer_id) is None:
            raise NotFound("customer", customer_id)
        return uow.orders.for_customer(customer_id)
