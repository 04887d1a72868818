"""A small store for the money tests: customers with paid orders, agents, teams, a policy."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import yaml

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Actor, Role
from caredesk.domain.customers import Address, Customer
from caredesk.domain.orders import (
    Order,
)
from caredesk.services.access import auth
from caredesk.services.cases import cases
from caredesk.services.engine import policy
from tests import factories


def add_customer(container: Container, customer_id: str, orders: dict[str, str]) -> None:
    """A customer who paid each order (id → amount, or "card amount+gift card amount") by
    card, or by card and gift card; each order was delivered yesterday."""
    now = container.clock.now()
    card, gift = f"card_{customer_id}", f"gift_{customer_id}"
    records: list[Customer | Order] = [
        factories.customer(
            customer_id,
            now,
            addresses=[],
            gift_card=Decimal("0.00"),
            customer_for=timedelta(days=400),
        )
    ]
    for order_id, amounts in orders.items():
        by_card, _, by_gift = amounts.partition("+")
        paid = [(card, Decimal(by_card)), *([(gift, Decimal(by_gift))] if by_gift else [])]
        total = sum((amount for _, amount in paid), Decimal(0))
        item = factories.line(f"{order_id}-item", "thing", "A thing", str(total))
        records.append(
            factories.order(
                order_id,
                customer_id,
                now,
                item,
                address=Address("1 Main St"),
                paid_by=paid,
                tracking="1Z1",
                delivered=timedelta(days=1),
                placed=timedelta(days=8),
            )
        )
    factories.store(container, *records)


def add_team(container: Container, name: str) -> None:
    if name not in {t.name for t in auth.list_teams(container.uow(), SYSTEM)}:
        auth.create_team(container.uow(), SYSTEM, container.clock.now(), name)


def add_agent(
    container: Container, email: str, role: Role = Role.AGENT, team: str | None = None
) -> Actor:
    now = container.clock.now()
    if team is not None:
        add_team(container, team)
    agent = auth.create_agent(
        container.uow(),
        SYSTEM,
        container.hasher,
        now,
        email=email,
        name=email.split("@")[0],
        role=role,
        password=None,
        team_names=[team] if team else None,
    )
    return agent.actor()


def open_case(
    container: Container,
    actor: Actor,
    customer_id: str,
    *,
    order_ids: list[str] | None = None,
    issue: str = "late_delivery",
    team: str | None = None,
) -> int:
    team_id = None
    if team is not None:
        team_id = next(t.id for t in auth.list_teams(container.uow(), SYSTEM) if t.name == team)
    view = cases.create_case(
        container.uow(),
        actor,
        container.clock.now(),
        customer_id=customer_id,
        subject="Not what we agreed",
        body="This is not what we agreed.",
        order_ids=order_ids,
        team_id=team_id,
        custom_fields={"issue_type": issue},
    )
    assert view.case.id is not None
    return view.case.id


def load_policy(container: Container, version: str, **changes: Any) -> None:
    """The default policy with some sections replaced, put in force."""
    data = yaml.safe_load(policy.packaged_policy_text("default"))
    data.update(changes, version=version)
    policy.load_policy(container.uow(), SYSTEM, container.clock.now(), yaml.safe_dump(data))


# A store credit and a refund of any amount the agent types, for the tests that need money
# of their choice.
TYPED_CREDIT = {
    "id": "typed-credit",
    "kind": "store_credit",
    "label": "Store credit of the amount given",
    "amount": {"of": "requested"},
    "rules": ["issue.fault_on_our_side"],
}
TYPED_REFUND = {
    "id": "typed-refund",
    "kind": "refund",
    "label": "Refund of the amount given",
    "amount": {"of": "requested"},
    "rules": ["order.belongs_to_case_customer", "order.received_something"],
}


def with_typed_credit() -> list[dict[str, Any]]:
    remedies: list[dict[str, Any]] = yaml.safe_load(policy.packaged_policy_text("default"))[
        "remedies"
    ]
    return [*remedies, TYPED_CREDIT, TYPED_REFUND]
