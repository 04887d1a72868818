"""The tau-bench retail JSON format (users, products, orders), in and out, without loss.

Every field of the format maps onto caredesk's own model, and the export writes the same
keys in the same order with the same value types, so import → export is the identity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from caredesk.domain import orders
from caredesk.domain.agents import SYSTEM
from caredesk.domain.catalog import Product, Variant
from caredesk.domain.customers import Address, Customer, PaymentKind, PaymentMethod
from caredesk.domain.errors import DomainError, ErrorCode, ValidationFailed
from caredesk.domain.events import Changed
from caredesk.domain.money import to_money
from caredesk.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

Json = dict[str, Any]
T = TypeVar("T")
Progress = Callable[[str, int, int], None]
# Order facts that tau-bench's write tools add, kept in Order.details in their JSON form.
ORDER_CORE_KEYS = (
    "order_id",
    "user_id",
    "address",
    "items",
    "fulfillments",
    "status",
    "payment_history",
)


MONEY_DETAILS = frozenset({"exchange_price_difference"})


@dataclass
class TauStore:
    users: dict[str, Json] = field(default_factory=dict)
    products: dict[str, Json] = field(default_factory=dict)
    orders: dict[str, Json] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportCounts:
    customers: int
    products: int
    orders: int


def _money(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationFailed(f"{where}: expected a number, got {value!r}")
    return to_money(value)


def _float(value: Decimal) -> float:
    return float(value)


def _balance(value: Decimal) -> int | float:
    """The format writes whole gift-card balances as integers and the rest as floats."""
    return int(value) if value == value.to_integral_value() else float(value)


def address_from_tau(data: Json) -> Address:
    return Address(
        address1=data["address1"],
        address2=data["address2"],
        city=data["city"],
        state=data["state"],
        zip=data["zip"],
        country=data["country"],
    )


def address_to_tau(address: Address) -> Json:
    return {
        "address1": address.address1,
        "address2": address.address2,
        "city": address.city,
        "country": address.country,
        "state": address.state,
        "zip": address.zip,
    }


def _by_id(records: Json, id_key: str, what: str) -> list[tuple[str, Json]]:
    """A map of records by their id: the format repeats the id inside, and the two agree."""
    for key, record in records.items():
        if record[id_key] != key:
            raise ValidationFailed(f"{what} key {key} != {id_key} {record[id_key]}")
    return list(records.items())


def customer_from_tau(user_id: str, data: Json, now: datetime) -> Customer:
    methods = [
        PaymentMethod(
            id=key,
            kind=PaymentKind(pm["source"]),
            brand=pm.get("brand"),
            last_four=pm.get("last_four"),
            balance=_money(pm["balance"], f"{key}.balance") if "balance" in pm else None,
        )
        for key, pm in _by_id(data["payment_methods"], "id", f"user {user_id}: payment method")
    ]
    return Customer(
        id=user_id,
        first_name=data["name"]["first_name"],
        last_name=data["name"]["last_name"],
        emails=[data["email"]],
        addresses=[address_from_tau(data["address"])],
        payment_methods=methods,
        created_at=now,
        updated_at=now,
    )


def payment_method_to_tau(pm: PaymentMethod) -> Json:
    out: Json = {"source": pm.kind.value}
    if pm.brand is not None:
        out["brand"] = pm.brand
    if pm.last_four is not None:
        out["last_four"] = pm.last_four
    if pm.balance is not None:
        out["balance"] = _balance(pm.balance)
    out["id"] = pm.id
    return out


def customer_to_tau(customer: Customer, order_ids: list[str]) -> Json:
    return {
        "name": {"first_name": customer.first_name, "last_name": customer.last_name},
        "address": address_to_tau(customer.addresses[0]),
        "email": customer.emails[0],
        "payment_methods": {pm.id: payment_method_to_tau(pm) for pm in customer.payment_methods},
        "orders": order_ids,
    }


def product_from_tau(data: Json) -> Product:
    variants = [
        Variant(
            id=key,
            product_id=data["product_id"],
            options=dict(v["options"]),
            price=_money(v["price"], f"{key}.price"),
            available=bool(v["available"]),
        )
        for key, v in _by_id(data["variants"], "item_id", f"product {data['product_id']}: variant")
    ]
    return Product(id=data["product_id"], name=data["name"], variants=variants)


def product_to_tau(product: Product) -> Json:
    return {
        "name": product.name,
        "product_id": product.id,
        "variants": {
            v.id: {
                "item_id": v.id,
                "options": dict(v.options),
                "available": v.available,
                "price": _float(v.price),
            }
            for v in product.variants
        },
    }


def order_from_tau(data: Json) -> orders.Order:
    return orders.Order(
        id=data["order_id"],
        customer_id=data["user_id"],
        status=orders.OrderStatus(data["status"]),
        address=address_from_tau(data["address"]),
        lines=[
            orders.OrderLine(
                variant_id=item["item_id"],
                product_id=item["product_id"],
                name=item["name"],
                price=_money(item["price"], f"{data['order_id']} item price"),
                options=dict(item["options"]),
            )
            for item in data["items"]
        ],
        shipments=[
            orders.Shipment(tracking_ids=list(f["tracking_id"]), variant_ids=list(f["item_ids"]))
            for f in data["fulfillments"]
        ],
        payments=[
            orders.PaymentTransaction(
                transaction_type=orders.TransactionType(p["transaction_type"]),
                amount=_money(p["amount"], f"{data['order_id']} payment"),
                payment_method_id=p["payment_method_id"],
            )
            for p in data["payment_history"]
        ],
        details={k: v for k, v in data.items() if k not in ORDER_CORE_KEYS},
    )


def order_to_tau(order: orders.Order) -> Json:
    out: Json = {
        "order_id": order.id,
        "user_id": order.customer_id,
        "address": address_to_tau(order.address),
        "items": [
            {
                "name": line.name,
                "product_id": line.product_id,
                "item_id": line.variant_id,
                "price": _float(line.price),
                "options": dict(line.options),
            }
            for line in order.lines
        ],
        "fulfillments": [
            {"tracking_id": list(f.tracking_ids), "item_ids": list(f.variant_ids)}
            for f in order.shipments
        ],
        "status": order.status.value,
        "payment_history": [
            {
                "transaction_type": p.transaction_type.value,
                "amount": _float(p.amount),
                "payment_method_id": p.payment_method_id,
            }
            for p in order.payments
        ],
    }
    for key, value in order.details.items():
        # caredesk keeps money exact (a decimal string); the format writes a number.
        out[key] = float(value) if key in MONEY_DETAILS and isinstance(value, str) else value
    return out


def _convert(kind: str, key: str, fn: Callable[..., T], *args: Any) -> T:
    try:
        return fn(*args)
    except KeyError as exc:
        raise ValidationFailed(f"{kind} {key}: missing field {exc.args[0]!r}") from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise ValidationFailed(f"{kind} {key}: {exc}") from exc


def import_store(
    uow_factory: UnitOfWorkFactory, now: datetime, data: TauStore, progress: Progress | None = None
) -> ImportCounts:
    """Load the whole store in one transaction: all of it lands, or none of it."""
    report = progress or (lambda _kind, _done, _total: None)
    uow: UnitOfWork
    with uow_factory() as uow:
        for i, (user_id, user) in enumerate(data.users.items(), 1):
            customer = _convert("user", user_id, customer_from_tau, user_id, user, now)
            if uow.customers.get(user_id) is not None:
                raise DomainError(f"customer {user_id} exists", code=ErrorCode.DUPLICATE_ID)
            if uow.customers.email_owner(customer.emails[0]) is not None:
                raise DomainError(
                    f"{customer.emails[0]} already belongs to a customer",
                    code=ErrorCode.DUPLICATE_EMAIL,
                )
            uow.customers.add(customer)
            report("users", i, len(data.users))
        for i, (product_id, raw_product) in enumerate(data.products.items(), 1):
            product = _convert("product", product_id, product_from_tau, raw_product)
            if uow.products.get(product.id) is not None:
                raise DomainError(f"product {product.id} exists", code=ErrorCode.DUPLICATE_ID)
            uow.products.add(product)
            report("products", i, len(data.products))
        for i, (order_id, raw_order) in enumerate(data.orders.items(), 1):
            order = _convert("order", order_id, order_from_tau, raw_order)
            if order.customer_id not in data.users and uow.customers.get(order.customer_id) is None:
                raise ValidationFailed(f"order {order_id}: unknown user {order.customer_id}")
            if uow.orders.get(order.id) is not None:
                raise DomainError(f"order {order.id} exists", code=ErrorCode.DUPLICATE_ID)
            uow.orders.add(order)
            report("orders", i, len(data.orders))
        counts = ImportCounts(len(data.users), len(data.products), len(data.orders))
        uow.publish(
            Changed(
                actor=SYSTEM,
                at=now,
                action="import.tau_retail",
                entity_type="store",
                entity_id="tau-retail",
                after={
                    "customers": counts.customers,
                    "products": counts.products,
                    "orders": counts.orders,
                },
            )
        )
        uow.commit()
        return counts


def export_store(uow_factory: UnitOfWorkFactory) -> TauStore:
    store = TauStore()
    with uow_factory() as uow:
        orders_by_customer: dict[str, list[str]] = {}
        for order in uow.orders.iterate():
            store.orders[order.id] = order_to_tau(order)
            orders_by_customer.setdefault(order.customer_id, []).append(order.id)
        for customer in uow.customers.iterate():
            if not customer.addresses or not customer.emails:
                continue  # not representable in this format (it requires both)
            store.users[customer.id] = customer_to_tau(
                customer, orders_by_customer.get(customer.id, [])
            )
        for product in uow.products.iterate():
            store.products[product.id] = product_to_tau(product)
    return store
