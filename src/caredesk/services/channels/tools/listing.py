"""Which tools the API offers, in which order, and the named sets of them that tokens and
the tau-bench replay use. Each area declares its own tools; this only collects them."""

from __future__ import annotations

from caredesk.services.channels.tools import customers, general, offers, orders, products
from caredesk.services.channels.tools.registry import Registry, Tool

DECLARED: tuple[Tool, ...] = tuple(
    tool for area in (customers, orders, products, general, offers) for tool in area.TOOLS
)

# The order agents have always seen the tools listed in: reads, then writes. A new tool is
# declared in its area and named here, at the end of its kind.
LISTING_ORDER = (
    "find_user_id_by_email",
    "find_user_id_by_name_zip",
    "get_user_details",
    "get_order_details",
    "get_product_details",
    "list_all_product_types",
    "calculate",
    "think",
    "transfer_to_human_agents",
    "plan_case",
    "cancel_pending_order",
    "modify_pending_order_address",
    "modify_pending_order_items",
    "modify_pending_order_payment",
    "modify_user_address",
    "return_delivered_order_items",
    "exchange_delivered_order_items",
    "grant_offer",
)

# tau-bench's retail tool set, by its names and arguments, so agents built for that store
# work unchanged.
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
# The retail tools that change the store: the ones a replay of a task's actions runs.
WRITE_TOOLS = frozenset(t.name for t in DECLARED if t.writes and t.name in RETAIL_TOOLS)
# Every tool a token can be limited to.
TOOL_NAMES = frozenset(t.name for t in DECLARED)


def build_registry() -> Registry:
    return Registry.listing(DECLARED, LISTING_ORDER)
