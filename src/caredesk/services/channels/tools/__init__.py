"""Tools for AI agents: the same operations as the console, behind the same policy.

Each tool has a JSON schema and a handler, declared together in the module of its area
(`customers`, `orders`, `products`, `general`, `offers`); `registry` holds the checks
every call passes, written once. Write tools run through `grants`, so an AI agent gets
exactly the authentication, authority and policy a human agent gets. The retail tool set
keeps the tau-bench names and arguments so agents built for that store work unchanged.
"""

from caredesk.services.channels.tools.arguments import MAX_ITEMS, MAX_STRING
from caredesk.services.channels.tools.listing import (
    RETAIL_TOOLS,
    TOOL_NAMES,
    WRITE_TOOLS,
    build_registry,
)
from caredesk.services.channels.tools.registry import (
    Registry,
    Status,
    Tool,
    ToolCall,
    ToolResult,
    ToolSet,
)

__all__ = [
    "MAX_ITEMS",
    "MAX_STRING",
    "RETAIL_TOOLS",
    "TOOL_NAMES",
    "WRITE_TOOLS",
    "Registry",
    "Status",
    "Tool",
    "ToolCall",
    "ToolResult",
    "ToolSet",
    "build_registry",
]
