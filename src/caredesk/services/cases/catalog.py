"""Reading the catalogue and the orders placed from it."""

from __future__ import annotations

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.catalog import Product
from caredesk.domain.errors import must_exist
from caredesk.domain.orders import Order
from caredesk.services.cases.unit import CasesUnit
from caredesk.services.core.ports import Page
from caredesk.services.core.reads import read, read_one


def list_products(uow: CasesUnit, actor: Actor, limit: int, cursor: str | None) -> Page[Product]:
    return read(uow, actor, Permission.READ, lambda u: u.products.find(limit, cursor))


def get_product(uow: CasesUnit, actor: Actor, product_id: str) -> Product:
    return read_one(
        uow, actor, Permission.READ, lambda u: u.products.get(product_id), "product", product_id
    )


def get_order(uow: CasesUnit, actor: Actor, order_id: str) -> Order:
    actor.require(Permission.READ)
    actor.require_verified()
    with uow:
        order = must_exist(uow.orders.get(order_id), "order", order_id)
        actor.require_reach(order.customer_id)
        return order
