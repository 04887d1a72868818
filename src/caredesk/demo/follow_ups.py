"""The orders customers place after the history's cases were solved: some come back, more of
them after a remedy, so that the retention report has something real to show."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from caredesk.demo.customers import DemoCustomer, Ids
from caredesk.demo.orders import repeat_order
from caredesk.domain.catalog import Product
from caredesk.domain.grants import GrantStatus
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.unit_of_work import UnitOfWorkFactory

# The chance that a customer orders again after their case, with a remedy and without; the
# days after the case within which they do.
RETURN_AFTER_REMEDY = 0.6
RETURN_WITHOUT = 0.35
RETURN_DAYS = (2.0, 80.0)
# More than the history's cases and the open ones together.
CASES_READ = 1_000


def follow_up_orders(
    uow_factory: UnitOfWorkFactory,
    rng: random.Random,
    ids: Ids,
    products: dict[str, Product],
    demo_customers: list[DemoCustomer],
    now: datetime,
) -> int:
    """A repeat order for some of the customers whose case was solved, placed at a drawn day
    after it (if that day has come); returns how many were placed."""
    by_id = {d.customer.id: d for d in demo_customers}
    with uow_factory() as uow:
        solved = sorted(
            (c.solved_at, c.id, c.customer_id)
            for c in uow.cases.find(CaseFilter(), CASES_READ, None).items
            if c.solved_at is not None and c.customer_id in by_id
        )
        granted = {
            g.case_id
            for customer_id in {cid for _, _, cid in solved}
            for g in uow.grants.for_customer(customer_id)
            if g.status is GrantStatus.EXECUTED and g.case_id is not None
        }
    placed = []
    for solved_at, case_id, customer_id in solved:
        chance = RETURN_AFTER_REMEDY if case_id in granted else RETURN_WITHOUT
        at = solved_at + timedelta(days=rng.uniform(*RETURN_DAYS))
        if rng.random() < chance and at < now - timedelta(hours=1):
            demo_customer = by_id[customer_id]
            placed.append(repeat_order(rng, ids, demo_customer, products, at, now))
    with uow_factory() as uow:
        for order in placed:
            uow.orders.add(order)
        uow.commit()
    return len(placed)
