"""Tools for AI agents: the same operations as the console, behind the same policy.

Each tool has a JSON schema and a handler. Write tools run through `grants`, so an AI agent
gets exactly the authentication, authority and policy a human agent gets. The retail tool
set keeps the tau-bench names and arguments so agents built for that store work unchanged.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from caredesk.conformance import tau_format as tau_retail
from caredesk.domain.agents import VERIFY_FIRST_RULE, Actor, Permission
from caredesk.domain.errors import DomainError, ErrorCode, Forbidden, NotFound, ValidationFailed
from caredesk.domain.events import Changed
from caredesk.services.cases import catalog, customers
from caredesk.services.core.ports import UnitOfWorkFactory
from caredesk.services.engine import grants

Status = Literal["done", "refused"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    uow: UnitOfWorkFactory
    actor: Actor
    now: datetime
    arguments: Mapping[str, Any]
    confirmed: bool = False
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class ToolResult:
    status: Status
    result: Any = None
    code: str | None = None
    rule: str | None = None
    message: str | None = None
    verified_customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    handler: Callable[[ToolCall], ToolResult]
    writes: bool = False

    def schema(self) -> dict[str, Any]:
        """The OpenAI/MCP function description of this tool."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


@dataclass
class Registry:
    tools: dict[str, Tool] = field(default_factory=dict)

    def add(self, tool: Tool) -> None:
        self.tools[tool.name] = tool

    def visible_to(self, actor: Actor) -> list[Tool]:
        """The tools this actor may call: its token's list (all when unlimited) and role."""
        return [
            t
            for t in self.tools.values()
            if (actor.tools is None or t.name in actor.tools)
            and (not t.writes or actor.can(Permission.WRITE_CASES))
        ]

    def run(self, name: str, call: ToolCall) -> ToolResult:
        """Run one tool. A malformed or forbidden call raises; anything the policy or the
        domain refuses comes back as a `refused` result with its code and rule.

        Every call is a conversation: the services it reaches let it see and change only the
        customer its token is bound to or that it verified, and nobody before that.
        """
        tool = self.tools.get(name)
        if tool is None:
            raise NotFound("tool", name)
        if call.actor.tools is not None and name not in call.actor.tools:
            raise Forbidden(f"this token may not use the tool {name}", details={"tool": name})
        call.actor.require(Permission.WRITE_CASES if tool.writes else Permission.READ)
        _validate(tool.parameters, call.arguments)
        call = replace(call, actor=replace(call.actor, conversation=True))
        try:
            result = tool.handler(call)
            if result.verified_customer_id is not None:
                _bind_on_verification(call, result.verified_customer_id)
            return result
        except DomainError as exc:
            if exc.code in (ErrorCode.UNAUTHENTICATED, ErrorCode.FORBIDDEN):
                raise
            rule = exc.details.get("rule") if exc.details else None
            message = exc.message
            if rule == VERIFY_FIRST_RULE:
                message = _how_to_verify(call.actor)
            return ToolResult("refused", None, exc.code.value, str(rule) if rule else None, message)


def _how_to_verify(actor: Actor) -> str:
    message = "identify the customer first (find_user_id_by_email or find_user_id_by_name_zip)"
    if actor.tools is None:
        # Over HTTP a general-purpose token is never narrowed by a lookup (see below).
        message += "; over HTTP, with a token limited to tools or issued for the customer"
    return message


def _bind_on_verification(call: ToolCall, customer_id: str) -> None:
    """A token limited to tools is an agent's conversation: the customer it verifies first
    is the only one it may act for from then on. A general-purpose token is not narrowed
    behind its owner's back; it must be issued bound (`--customer`) to change anything."""
    actor = call.actor
    if actor.customer_id is not None or actor.token_id is None or actor.tools is None:
        return
    with call.uow() as uow:
        token = uow.tokens.get(actor.token_id)
        if token is None:
            raise NotFound("token", actor.token_id)
        if token.customer_id == customer_id:
            return
        token.bind_customer(customer_id)
        uow.tokens.save(token)
        uow.publish(
            Changed(
                actor=actor,
                at=call.now,
                action="token.bound",
                entity_type="token",
                entity_id=token.id,
                before={"customer_id": None},
                after={"customer_id": customer_id},
            )
        )
        uow.commit()


# --- argument validation ---------------------------------------------------------------------

# Limits every tool shares, beyond its schema: arguments are short identifiers and addresses.
MAX_STRING = 1000
MAX_ITEMS = 100


def _check_text(name: str, value: str) -> None:
    if len(value) > MAX_STRING:
        raise ValidationFailed(
            f"argument {name!r} is longer than {MAX_STRING} characters", details={"field": name}
        )
    if "\x00" in value:
        raise ValidationFailed(
            f"argument {name!r} contains a NUL character", details={"field": name}
        )


def _validate(schema: Mapping[str, Any], arguments: Mapping[str, Any]) -> None:
    """Check the arguments against the tool's schema: names, types, sizes (not enum values:
    the policy decides what a value outside the list means, and refuses it with its rule)."""
    if not isinstance(arguments, Mapping):
        raise ValidationFailed("arguments must be an object")
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in arguments:
            raise ValidationFailed(f"missing argument {name!r}", details={"field": name})
    for name, value in arguments.items():
        spec = properties.get(name)
        if spec is None:
            raise ValidationFailed(f"unknown argument {name!r}", details={"field": name})
        expected = spec.get("type")
        if expected == "string" and isinstance(value, str):
            _check_text(name, value)
        elif expected == "array" and isinstance(value, list) and len(value) <= MAX_ITEMS:
            for item in value:
                if not isinstance(item, str):
                    raise ValidationFailed(
                        f"argument {name!r} must be a list of strings", details={"field": name}
                    )
                _check_text(name, item)
        elif expected == "array" and isinstance(value, list):
            raise ValidationFailed(
                f"argument {name!r} has more than {MAX_ITEMS} items", details={"field": name}
            )
        elif expected == "integer" and isinstance(value, int) and not isinstance(value, bool):
            if not spec.get("minimum", -(2**63)) <= value <= spec.get("maximum", 2**63 - 1):
                raise ValidationFailed(
                    f"argument {name!r} is out of range", details={"field": name}
                )
        else:
            raise ValidationFailed(
                f"argument {name!r} must be of type {expected}",
                details={"field": name},
            )


def _string(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _strings(description: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "description": description}


def _case_id() -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": 2**63 - 1, "description": "The case id."}


def _object(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


ORDER_ID = _string("The order id, with its leading '#', e.g. '#W0000000'.")
ADDRESS = {
    "address1": _string("First line of the address."),
    "address2": _string("Second line of the address, or ''."),
    "city": _string("City."),
    "state": _string("State or province code."),
    "country": _string("Country."),
    "zip": _string("Postal code."),
}
ADDRESS_KEYS = list(ADDRESS)


# --- read tools --------------------------------------------------------------------------------


def _verified(actor: Actor, customer_id: str) -> ToolResult:
    """A lookup verifies the customer; a conversation already about one verifies no other."""
    if actor.customer_id is not None:
        actor.require_reach(customer_id)
    return ToolResult("done", customer_id, verified_customer_id=customer_id)


def find_user_id_by_email(call: ToolCall) -> ToolResult:
    email = str(call.arguments["email"]).strip()
    with call.uow() as u:
        owner = u.customers.email_owner(email) or u.customers.email_owner(email.lower())
    if owner is None:
        raise DomainError("user not found", code=ErrorCode.NOT_FOUND)
    return _verified(call.actor, owner)


def find_user_id_by_name_zip(call: ToolCall) -> ToolResult:
    first, last = (
        str(call.arguments["first_name"]).strip(),
        str(call.arguments["last_name"]).strip(),
    )
    zip_code = str(call.arguments["zip"]).strip()
    with call.uow() as u:
        page = u.customers.search(f"{first} {last}", 50, None)
    for customer in page.items:
        if (
            customer.first_name.lower() == first.lower()
            and customer.last_name.lower() == last.lower()
            and any(a.zip == zip_code for a in customer.addresses)
        ):
            return _verified(call.actor, customer.id)
    raise DomainError("user not found", code=ErrorCode.NOT_FOUND)


def get_user_details(call: ToolCall) -> ToolResult:
    user_id = str(call.arguments["user_id"])
    customer = customers.get_customer(call.uow(), call.actor, user_id)
    order_ids = [o.id for o in customers.customer_orders(call.uow(), call.actor, user_id)]
    return ToolResult(
        "done", {"user_id": user_id, **tau_retail.customer_to_tau(customer, order_ids)}
    )


def get_order_details(call: ToolCall) -> ToolResult:
    order = catalog.get_order(call.uow(), call.actor, str(call.arguments["order_id"]))
    return ToolResult("done", tau_retail.order_to_tau(order))


def get_product_details(call: ToolCall) -> ToolResult:
    product_id = str(call.arguments["product_id"])
    with call.uow() as u:
        product = u.products.get(product_id)
    if product is None:
        raise DomainError("product not found", code=ErrorCode.NOT_FOUND)
    return ToolResult("done", tau_retail.product_to_tau(product))


def list_all_product_types(call: ToolCall) -> ToolResult:
    with call.uow() as u:
        products = list(u.products.iterate())
    return ToolResult("done", dict(sorted((p.name, p.id) for p in products)))


_OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def _arith(node: ast.AST) -> float:
    """Evaluate + - * / and parentheses only: no names, calls or attributes."""
    if isinstance(node, ast.Expression):
        return _arith(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return float(_OPERATORS[type(node.op)](_arith(node.left), _arith(node.right)))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return float(_OPERATORS[type(node.op)](_arith(node.operand)))
    raise ValueError("only numbers, + - * / and parentheses")


def calculate(call: ToolCall) -> ToolResult:
    expression = str(call.arguments["expression"])
    if len(expression) > 200:
        raise ValidationFailed("the expression is too long", details={"field": "expression"})
    try:
        value = _arith(ast.parse(expression, mode="eval"))
    except (SyntaxError, ValueError, ZeroDivisionError) as exc:
        raise ValidationFailed(f"cannot calculate: {exc}", details={"field": "expression"}) from exc
    return ToolResult("done", str(round(value, 2)))


def think(call: ToolCall) -> ToolResult:
    return ToolResult("done", "")


def transfer_to_human_agents(call: ToolCall) -> ToolResult:
    return ToolResult("done", "Transfer successful")


# --- write tools -------------------------------------------------------------------------------


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


def cancel_pending_order(call: ToolCall) -> ToolResult:
    args = call.arguments
    return _grant(call, "cancel", str(args["order_id"]), {"reason": args["reason"]})


def modify_pending_order_address(call: ToolCall) -> ToolResult:
    args = call.arguments
    address = {k: args[k] for k in ADDRESS_KEYS}
    return _grant(call, "modify-address", str(args["order_id"]), {"address": address})


def modify_pending_order_items(call: ToolCall) -> ToolResult:
    args = call.arguments
    params = {
        "item_ids": list(args["item_ids"]),
        "new_item_ids": list(args["new_item_ids"]),
        "payment_method_id": args["payment_method_id"],
    }
    return _grant(call, "modify-items", str(args["order_id"]), params)


def modify_pending_order_payment(call: ToolCall) -> ToolResult:
    args = call.arguments
    return _grant(
        call,
        "modify-payment",
        str(args["order_id"]),
        {"payment_method_id": args["payment_method_id"]},
    )


def return_delivered_order_items(call: ToolCall) -> ToolResult:
    args = call.arguments
    params = {"item_ids": list(args["item_ids"]), "payment_method_id": args["payment_method_id"]}
    return _grant(call, "return", str(args["order_id"]), params)


def exchange_delivered_order_items(call: ToolCall) -> ToolResult:
    args = call.arguments
    params = {
        "item_ids": list(args["item_ids"]),
        "new_item_ids": list(args["new_item_ids"]),
        "payment_method_id": args["payment_method_id"],
    }
    return _grant(call, "exchange", str(args["order_id"]), params)


def modify_user_address(call: ToolCall) -> ToolResult:
    args = call.arguments
    user_id = str(args["user_id"])
    outcome = grants.grant_for_customer(
        call.uow(),
        call.actor,
        call.now,
        user_id,
        "update-address",
        params={"address": {k: args[k] for k in ADDRESS_KEYS}},
        order_id=None,
        idempotency_key=call.idempotency_key,
        confirmed=call.confirmed,
    )
    customer = customers.get_customer(call.uow(), call.actor, user_id)
    return ToolResult(
        "done",
        {"grant_id": outcome.grant.id, "address": tau_retail.address_to_tau(customer.addresses[0])},
    )


# --- caredesk's own tools ------------------------------------------------------------------------


def plan_case(call: ToolCall) -> ToolResult:
    case_id = int(call.arguments["case_id"])
    result = grants.plan_case(call.uow(), call.actor, call.now, case_id)
    offers = [
        {
            "remedies": o.remedy_ids,
            "cost": str(o.cost),
            "expected_value": str(o.expected_value),
            "may_grant": o.decision.may_grant,
            "approver_role": o.decision.approver_role,
            "rules": o.rules,
            "why": o.why,
            "reasons": o.reasons,
        }
        for o in result.plan.offers
    ]
    return ToolResult("done", {"case_id": case_id, "basis": result.basis, "offers": offers})


def grant_offer(call: ToolCall) -> ToolResult:
    args = call.arguments
    case_id = int(args["case_id"])
    outcome = grants.grant_on_case(
        call.uow(),
        call.actor,
        call.now,
        case_id,
        list(args["remedies"]),
        idempotency_key=call.idempotency_key,
        confirmed=call.confirmed,
        actor_kind=grants.TOOL,
    )
    if outcome.approval is not None:
        return ToolResult(
            "refused",
            {"approval_id": outcome.approval.id},
            ErrorCode.OVER_AUTHORITY.value,
            None,
            "above this agent's authority: sent for approval",
        )
    return ToolResult("done", {"grant_id": outcome.grant.id, "summary": outcome.grant.summary})


def build_registry() -> Registry:
    registry = Registry()
    reads: list[tuple[str, str, dict[str, Any], Callable[[ToolCall], ToolResult]]] = [
        (
            "find_user_id_by_email",
            "Find a user's id by their email; this verifies the user.",
            _object(["email"], email=_string("The user's email.")),
            find_user_id_by_email,
        ),
        (
            "find_user_id_by_name_zip",
            "Find a user's id by first name, last name and zip; this verifies the user.",
            _object(
                ["first_name", "last_name", "zip"],
                first_name=_string("First name."),
                last_name=_string("Last name."),
                zip=_string("Postal code."),
            ),
            find_user_id_by_name_zip,
        ),
        (
            "get_user_details",
            "The user's profile, payment methods and order ids.",
            _object(["user_id"], user_id=_string("The user id.")),
            get_user_details,
        ),
        (
            "get_order_details",
            "An order's items, status, fulfilments and payments.",
            _object(["order_id"], order_id=ORDER_ID),
            get_order_details,
        ),
        (
            "get_product_details",
            "A product and its variants (items) with options, price and availability.",
            _object(["product_id"], product_id=_string("The product id (not an item id).")),
            get_product_details,
        ),
        (
            "list_all_product_types",
            "Every product name with its product id.",
            _object([]),
            list_all_product_types,
        ),
        (
            "calculate",
            "Evaluate arithmetic: numbers, + - * / and parentheses.",
            _object(["expression"], expression=_string("For example '2 + 2'.")),
            calculate,
        ),
        (
            "think",
            "Think out loud; changes nothing.",
            _object(["thought"], thought=_string("A thought.")),
            think,
        ),
        (
            "transfer_to_human_agents",
            "Hand the conversation to a person, with a summary.",
            _object(["summary"], summary=_string("What the user needs.")),
            transfer_to_human_agents,
        ),
        (
            "plan_case",
            "The ranked remedies this agent may grant on a case, with costs and rules.",
            _object(["case_id"], case_id=_case_id()),
            plan_case,
        ),
    ]
    for name, description, parameters, handler in reads:
        registry.add(Tool(name, description, parameters, handler))
    writes: list[tuple[str, str, dict[str, Any], Callable[[ToolCall], ToolResult]]] = [
        (
            "cancel_pending_order",
            "Cancel a pending order; payments are refunded (gift cards at once).",
            _object(
                ["order_id", "reason"],
                order_id=ORDER_ID,
                reason=_string("Why.", enum=["no longer needed", "ordered by mistake"]),
            ),
            cancel_pending_order,
        ),
        (
            "modify_pending_order_address",
            "Change the shipping address of a pending order.",
            _object(["order_id", *ADDRESS_KEYS], order_id=ORDER_ID, **ADDRESS),
            modify_pending_order_address,
        ),
        (
            "modify_pending_order_items",
            "Swap items of a pending order for other options of the same products (once).",
            _object(
                ["order_id", "item_ids", "new_item_ids", "payment_method_id"],
                order_id=ORDER_ID,
                item_ids=_strings("Item ids to change."),
                new_item_ids=_strings("The new item ids, in the same order."),
                payment_method_id=_string("Pays or receives the price difference."),
            ),
            modify_pending_order_items,
        ),
        (
            "modify_pending_order_payment",
            "Pay a pending order with another of the user's payment methods.",
            _object(
                ["order_id", "payment_method_id"],
                order_id=ORDER_ID,
                payment_method_id=_string("The new payment method."),
            ),
            modify_pending_order_payment,
        ),
        (
            "modify_user_address",
            "Change the user's default address.",
            _object(["user_id", *ADDRESS_KEYS], user_id=_string("The user id."), **ADDRESS),
            modify_user_address,
        ),
        (
            "return_delivered_order_items",
            "Request a return of items of a delivered order.",
            _object(
                ["order_id", "item_ids", "payment_method_id"],
                order_id=ORDER_ID,
                item_ids=_strings("Item ids to return."),
                payment_method_id=_string(
                    "Receives the refund: the original method or a gift card."
                ),
            ),
            return_delivered_order_items,
        ),
        (
            "exchange_delivered_order_items",
            "Exchange items of a delivered order for other options of the same products (once).",
            _object(
                ["order_id", "item_ids", "new_item_ids", "payment_method_id"],
                order_id=ORDER_ID,
                item_ids=_strings("Item ids to exchange."),
                new_item_ids=_strings("The new item ids, in the same order."),
                payment_method_id=_string("Pays or receives the price difference."),
            ),
            exchange_delivered_order_items,
        ),
        (
            "grant_offer",
            "Grant a bundle of remedies on a case (as planned by plan_case).",
            _object(
                ["case_id", "remedies"],
                case_id=_case_id(),
                remedies=_strings("Remedy ids from the plan."),
            ),
            grant_offer,
        ),
    ]
    for name, description, parameters, handler in writes:
        registry.add(Tool(name, description, parameters, handler, writes=True))
    return registry


RETAIL_TOOLS = [
    "calculate",
    "cancel_pending_order",
    "exchange_delivered_order_items",
    "find_user_id_by_email",
    "find_user_id_by_name_zip",
    "get_order_details",
    "get_product_details",
    "get_user_details",
    "list_all_product_types",
    "modify_pending_order_address",
    "modify_pending_order_items",
    "modify_pending_order_payment",
    "modify_user_address",
    "return_delivered_order_items",
    "think",
    "transfer_to_human_agents",
]
WRITE_TOOLS = frozenset(
    {
        "cancel_pending_order",
        "modify_pending_order_address",
        "modify_pending_order_items",
        "modify_pending_order_payment",
        "modify_user_address",
        "return_delivered_order_items",
        "exchange_delivered_order_items",
    }
)
# Every tool a token can be limited to.
TOOL_NAMES = frozenset(RETAIL_TOOLS) | {"plan_case", "grant_offer"}
