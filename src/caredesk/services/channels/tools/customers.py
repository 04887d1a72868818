"""Finding the customer a tool session is about (which verifies them), reading their
profile, and changing their default address."""

from __future__ import annotations

from caredesk.conformance import tau_format as tau_retail
from caredesk.domain.agents import Actor
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.services.cases import customers
from caredesk.services.channels.tools.arguments import ADDRESS, ADDRESS_KEYS, arguments, string
from caredesk.services.channels.tools.registry import ToolCall, ToolResult, ToolSet
from caredesk.services.engine import grants

TOOLS = ToolSet()


def _verified(actor: Actor, customer_id: str) -> ToolResult:
    """A lookup verifies the customer; a tool session already about one verifies no other."""
    if actor.customer_id is not None:
        actor.require_reach(customer_id)
    return ToolResult("done", customer_id, verified_customer_id=customer_id)


@TOOLS.read(
    "find_user_id_by_email",
    "Find a user's id by their email; this verifies the user.",
    arguments(["email"], email=string("The user's email.")),
)
def find_user_id_by_email(call: ToolCall) -> ToolResult:
    email = str(call.arguments["email"]).strip()
    with call.uow() as u:
        owner = u.customers.email_owner(email) or u.customers.email_owner(email.lower())
    if owner is None:
        raise DomainError("user not found", code=ErrorCode.NOT_FOUND)
    return _verified(call.actor, owner)


@TOOLS.read(
    "find_user_id_by_name_zip",
    "Find a user's id by first name, last name and zip; this verifies the user.",
    arguments(
        ["first_name", "last_name", "zip"],
        first_name=string("First name."),
        last_name=string("Last name."),
        zip=string("Postal code."),
    ),
)
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


@TOOLS.read(
    "get_user_details",
    "The user's profile, payment methods and order ids.",
    arguments(["user_id"], user_id=string("The user id.")),
)
def get_user_details(call: ToolCall) -> ToolResult:
    customer_id = str(call.arguments["user_id"])
    customer = customers.get_customer(call.uow(), call.actor, customer_id)
    order_ids = [o.id for o in customers.customer_orders(call.uow(), call.actor, customer_id)]
    return ToolResult(
        "done", {"user_id": customer_id, **tau_retail.customer_to_tau(customer, order_ids)}
    )


@TOOLS.write(
    "modify_user_address",
    "Change the user's default address.",
    arguments(["user_id", *ADDRESS_KEYS], user_id=string("The user id."), **ADDRESS),
)
def modify_user_address(call: ToolCall) -> ToolResult:
    args = call.arguments
    customer_id = str(args["user_id"])
    outcome = grants.grant_for_customer(
        call.uow(),
        call.actor,
        call.now,
        customer_id,
        "update-address",
        params={"address": {k: args[k] for k in ADDRESS_KEYS}},
        order_id=None,
        idempotency_key=call.idempotency_key,
        confirmed=call.confirmed,
    )
    customer = customers.get_customer(call.uow(), call.actor, customer_id)
    return ToolResult(
        "done",
        {"grant_id": outcome.grant.id, "address": tau_retail.address_to_tau(customer.addresses[0])},
    )
