"""What a customer owns, as triage matches known issues against it: every product and variant
on any of their orders, and nothing of another customer's."""

from __future__ import annotations

from caredesk.bootstrap import Container
from tests import factories as f


def test_the_items_on_a_customer_s_orders(container: Container) -> None:
    now = container.clock.now()
    kettle = f.variant("kettle-steel", "kettle", "40")
    printer = f.variant("printer-350", "printer", "120")
    f.store(
        container,
        f.customer("ana", now),
        f.customer("ben", now),
        f.product("kettle", "Kettle", kettle),
        f.product("printer", "Printer", printer),
        f.order("o1", "ana", now, f.line("kettle-steel", "kettle", "Kettle", "40")),
        f.order(
            "o2",
            "ana",
            now,
            f.line("kettle-steel", "kettle", "Kettle", "40"),
            f.line("printer-350", "printer", "Printer", "120"),
        ),
        f.order("o3", "ben", now, f.line("printer-350", "printer", "Printer", "120")),
    )
    with container.uow.read_only() as uow:
        assert uow.orders.owned_items("ana") == (
            {"kettle", "printer"},
            {"kettle-steel", "printer-350"},
        )
        assert uow.orders.owned_items("ben") == ({"printer"}, {"printer-350"})
        assert uow.orders.owned_items("nobody") == (set(), set())
