"""The catalogue as the retail agents read it: products, their variants, and every
product's name."""

from __future__ import annotations

from caredesk.conformance import tau_format as tau_retail
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.services.channels.tools.arguments import arguments, string
from caredesk.services.channels.tools.registry import ToolCall, ToolResult, ToolSet

TOOLS = ToolSet()


@TOOLS.read(
    "get_product_details",
    "A product and its variants (items) with options, price and availability.",
    arguments(["product_id"], product_id=string("The product id (not an item id).")),
)
def get_product_details(call: ToolCall) -> ToolResult:
    product_id = str(call.arguments["product_id"])
    with call.uow() as u:
        product = u.products.get(product_id)
    if product is None:
        raise DomainError("product not found", code=ErrorCode.NOT_FOUND)
    return ToolResult("done", tau_retail.product_to_tau(product))


@TOOLS.read(
    "list_all_product_types",
    "Every product name with its product id.",
    arguments([]),
)
def list_all_product_types(call: ToolCall) -> ToolResult:
    with call.uow() as u:
        products = list(u.products.iterate())
    return ToolResult("done", dict(sorted((p.name, p.id) for p in products)))
