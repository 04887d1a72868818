"""Customers, their orders, and the catalogue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import JSONResponse

from caredesk.domain.customers import Customer
from caredesk.services.cases import catalog, customers
from caredesk.services.privacy import erasure
from caredesk.web.api.common import (
    PAGE_LIMIT_DEFAULT,
    PAGE_LIMIT_MAX,
    ApiCall,
    Call,
    fields_of,
)
from caredesk.web.api.schemas.base import PageOut
from caredesk.web.api.schemas.customers import (
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    ErasureOut,
    OrderOut,
    ProductOut,
)
from caredesk.web.idempotency import IdempotentRoute

router = APIRouter(route_class=IdempotentRoute)
Limit = Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)]


@router.post("/customers", status_code=status.HTTP_201_CREATED, tags=["customers"])
def create_customer(body: CustomerIn, call: Call) -> CustomerOut:
    customer = _create_customer(body, call)
    call.created(f"/api/v1/customers/{customer.id}", customer.version)
    return CustomerOut.of(customer)


def _create_customer(body: CustomerIn, call: ApiCall) -> Customer:
    fields = fields_of(
        body,
        exclude={"id"},
        customer_id=body.id,
        emails=[str(e) for e in body.emails],
        addresses=[a.to_domain() for a in body.addresses],
        payment_methods=[pm.to_domain() for pm in body.payment_methods],
    )
    return call.run(customers.create_customer, **fields)


@router.get("/customers", tags=["customers"])
def search_customers(
    call: Call,
    q: Annotated[str | None, Query(max_length=200, description="Name, email or id.")] = None,
    limit: Limit = PAGE_LIMIT_DEFAULT,
    cursor: str | None = None,
) -> PageOut[CustomerOut]:
    page = call.read(customers.search_customers, q, limit, cursor)
    return PageOut(items=[CustomerOut.of(c) for c in page.items], next_cursor=page.next_cursor)


@router.get("/customers/{customer_id}", tags=["customers"])
def get_customer(customer_id: str, call: Call) -> CustomerOut:
    customer = call.read(customers.get_customer, customer_id)
    return call.versioned(customer, CustomerOut.of)


@router.patch("/customers/{customer_id}", tags=["customers"])
def update_customer(
    customer_id: str,
    body: CustomerPatch,
    call: Call,
    if_match: Annotated[str | None, Header()] = None,
) -> CustomerOut:
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    if "addresses" in changes and body.addresses is not None:
        changes["addresses"] = [a.to_domain() for a in body.addresses]
    if "emails" in changes and body.emails is not None:
        changes["emails"] = [str(e) for e in body.emails]
    customer = call.update(customers.update_customer, customer_id, body, if_match, changes)
    return call.versioned(customer, CustomerOut.of)


@router.delete(
    "/customers/{customer_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["customers"],
    responses={200: {"model": ErasureOut, "description": "Erased (with `erase=true`)."}},
)
def delete_customer(
    customer_id: str,
    call: Call,
    erase: Annotated[
        bool,
        Query(
            description="Admins: erase the person's data everywhere and keep the records "
            "(orders, ledger, audit facts) under a tombstone, instead of deleting a "
            "customer without history. Repeating it answers `already_erased`."
        ),
    ] = False,
) -> Response:
    if erase:
        report = call.run(erasure.erase_customer, customer_id, compactor=call.container.storage)
        return JSONResponse(ErasureOut.of(report).model_dump(mode="json"))
    call.run(customers.delete_customer, customer_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/customers/{customer_id}/orders", tags=["customers", "orders"])
def customer_orders(customer_id: str, call: Call) -> list[OrderOut]:
    orders = call.read(customers.customer_orders, customer_id)
    return [OrderOut.of(o) for o in orders]


@router.get("/orders/{order_id}", tags=["orders"])
def get_order(order_id: str, call: Call) -> OrderOut:
    return OrderOut.of(call.read(catalog.get_order, order_id))


@router.get("/products", tags=["products"])
def list_products(
    call: Call, limit: Limit = PAGE_LIMIT_DEFAULT, cursor: str | None = None
) -> PageOut[ProductOut]:
    page = call.read(catalog.list_products, limit, cursor)
    return PageOut(items=[ProductOut.of(p) for p in page.items], next_cursor=page.next_cursor)


@router.get("/products/{product_id}", tags=["products"])
def get_product(product_id: str, call: Call) -> ProductOut:
    return ProductOut.of(call.read(catalog.get_product, product_id))
