"""Reading an order, and the changes a customer may ask for on it: while it is pending
(cancel, address, items, payment) and once it is delivered (return, exchange). Each change
is a remedy granted through the policy, as a human agent's would be."""

from __future__ import annotations

from typing import Any

from caredesk.conformance import tau_format as tau_retail
from caredesk.domain.errors import ErrorCode
from caredesk.services.cases import catalog
from caredesk.services.channels.tools.arguments import (
    ADDRESS,
    ADDRESS_KEYS,
    arguments,
    string,
    strings,
)
from caredesk.services.channels.tools.registry import ToolCall, ToolResult, ToolSet
from caredesk.services.engine import grants

TOOLS = ToolSet()

ORDER_ID = string("The order id, with its leading '#', e.g. '#W0000000'.")


@TOOLS.read(
    "get_order_details",
    "An order's items, status, fulfilments and payments.",
    arguments(["order_id"], order_id=ORDER_ID),
)
def get_order_details(call: ToolCall) -> ToolResult:
    order = catalog.get_order(call.uow(), call.actor, str(call.arguments["order_id"]))
    return ToolResult("done", tau_retail.order_to_tau(order))


def _grant(
    call: ToolCall, remedy_id: str, order_id: str | None, params: dict[str, Any]
) -> ToolResult:
    outcome = grants.grant_for_customer(
        call.uow(),
        call.actor,
        call.now,
        call.actor.verified_customer(),
        remedy_id,
        params=params,
        order_id=order_id,
        idempotency_key=call.idempotency_key,
        confirmed=call.confirmed,
    )
    if outcome.approval is not None:
        return ToolResult(
            "refused",
            {"approval_id": outcome.approval.id, "grant_id": outcome.grant.id},
            ErrorCode.OVER_AUTHORITY.value,
            None,
            "above this agent's authority: sent to a lead for approval",
        )
    result: Any = {"grant_id": outcome.grant.id, "summary": outcome.grant.summary}
    if order_id is not None:
        result = tau_retail.order_to_tau(catalog.get_order(call.uow(), call.actor, order_id))
    return ToolResult("done", result)


@TOOLS.write(
    "cancel_pending_order",
    "Cancel a pending order; payments are refunded (gift cards at once).",
    arguments(
        ["order_id", "reason"],
        order_id=ORDER_ID,
        reason=string("Why.", enum=["no longer needed", "ordered by mistake"]),
    ),
)
def cancel_pending_order(call: ToolCall) -> ToolResult:
    args = call.arguments
    return _grant(call, "cancel", str(args["order_id"]), {"reason": args["reason"]})


@TOOLS.write(
    "modify_pending_order_address",
    "Change the shipping address of a pending order.",
    arguments(["order_id", *ADDRESS_KEYS], order_id=ORDER_ID, **ADDRESS),
)
def modify_pending_order_address(call: ToolCall) -> ToolResult:
    args = call.arguments
    address = {k: args[k] for k in ADDRESS_KEYS}
    return _grant(call, "modify-address", str(args["order_id"]), {"address": address})


def _swap_arguments(which_items: str) -> dict[str, Any]:
    """Items swapped one for one for other options of the same products: before the order
    ships (modify) or after it is delivered (exchange)."""
    return arguments(
        ["order_id", "item_ids", "new_item_ids", "payment_method_id"],
        order_id=ORDER_ID,
        item_ids=strings(which_items),
        new_item_ids=strings("The new item ids, in the same order."),
        payment_method_id=string("Pays or receives the price difference."),
    )


def _swap(call: ToolCall, remedy_id: str) -> ToolResult:
    args = call.arguments
    params = {
        "item_ids": list(args["item_ids"]),
        "new_item_ids": list(args["new_item_ids"]),
        "payment_method_id": args["payment_method_id"],
    }
    return _grant(call, remedy_id, str(args["order_id"]), params)


@TOOLS.write(
    "modify_pending_order_items",
    "Swap items of a pending order for other options of the same products (once).",
    _swap_arguments("Item ids to change."),
)
def modify_pending_order_items(call: ToolCall) -> ToolResult:
    return _swap(call, "modify-items")


@TOOLS.write(
    "modify_pending_order_payment",
    "Pay a pending order with another of the user's payment methods.",
    arguments(
        ["order_id", "payment_method_id"],
        order_id=ORDER_ID,
        payment_method_id=string("The new payment method."),
    ),
)
def modify_pending_order_payment(call: ToolCall) -> ToolResult:
    args = call.arguments
    return _grant(
        call,
        "modify-payment",
        str(args["order_id"]),
        {"payment_method_id": args["payment_method_id"]},
    )


@TOOLS.write(
    "return_delivered_order_items",
    "Request a return of items of a delivered order.",
    arguments(
        ["order_id", "item_ids", "payment_method_id"],
        order_id=ORDER_ID,
        item_ids=strings("Item ids to return."),
        payment_method_id=string("Receives the refund: the original method or a gift card."),
    ),
)
def return_delivered_order_items(call: ToolCall) -> ToolResult:
    args = call.arguments
    params = {"item_ids": list(args["item_ids"]), "payment_method_id": args["payment_method_id"]}
    return _grant(call, "return", str(args["order_id"]), params)


@TOOLS.write(
    "exchange_delivered_order_items",
    "Exchange items of a delivered order for other options of the same products (once).",
    _swap_arguments("Item ids to exchange."),
)
def exchange_delivered_order_items(call: ToolCall) -> ToolResult:
    return _swap(call, "exchange")
