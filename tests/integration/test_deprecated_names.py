"""Public names the glossary retired keep working for the clients written against them: each
is answered or accepted beside its new name, and marked deprecated where a schema can say so
(docs/glossary.md, "Deprecated names")."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.customers import Address, Customer
from caredesk.domain.orders import Order, OrderLine, OrderStatus, Shipment
from tests.integration.conftest import Headers


def _order_with_a_shipment(container: Container) -> str:
    now = container.clock.now()
    with container.uow() as uow:
        uow.customers.add(
            Customer(
                id="ada", first_name="Ada", last_name="Lovelace", emails=["ada@example.com"],
                created_at=now, updated_at=now,
            )
        )  # fmt: skip
        uow.orders.add(
            Order(
                id="#W1",
                customer_id="ada",
                status=OrderStatus.PROCESSED,
                address=Address("1 Analytical Way", city="London", country="UK"),
                lines=[OrderLine("v-lamp", "p-lamp", "Desk lamp", Decimal("40.00"))],
                shipments=[Shipment(["1Z1"], ["v-lamp"], "UPS", now, (now + timedelta(3)).date())],
                placed_at=now,
            )
        )
        uow.commit()
    return "#W1"


def test_an_order_answers_its_shipments_also_as_the_deprecated_fulfilments(
    client: TestClient, container: Container, agent: Headers
) -> None:
    _order_with_a_shipment(container)
    order = client.get("/api/v1/orders/%23W1", headers=agent).json()
    assert [s["tracking_ids"] for s in order["shipments"]] == [["1Z1"]]
    assert order["fulfilments"] == order["shipments"]
    listed = client.get("/api/v1/customers/ada/orders", headers=agent).json()
    assert listed[0]["fulfilments"] == listed[0]["shipments"] == order["shipments"]
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["OrderOut"]
    assert schema["properties"]["fulfilments"]["deprecated"] is True
    assert "deprecated" not in schema["properties"]["shipments"]


def test_an_approval_answers_the_deprecated_requester_role_beside_requested_by_role(
    client: TestClient,
) -> None:
    # An approval's answer is tested where approvals are made (test_api_grants.py); here,
    # that the schema tells clients which name to use.
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["ApprovalOut"]
    assert schema["properties"]["requester_role"]["deprecated"] is True
    assert "requested_by_role" in schema["required"]
