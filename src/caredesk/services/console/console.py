"""What the agent console shows and does, gathered so each page is one call.

Reads happen in one read-only unit of work per page; writes go through the same case,
grant and auth services as the API, so the console can never do what the API would refuse.

Each page has its module: the queues (`queues`), the case page (`case_page`), approvals
(`approvals`), administration (`admin`). This module names them all for the pages; the
feature package itself stays empty, so importing its ports loads none of them.
"""

from __future__ import annotations

from caredesk.services.console.admin import (
    AdminScreen,
    admin_screen,
)
from caredesk.services.console.approvals import (
    ApprovalItem,
    approvals_screen,
)
from caredesk.services.console.case_page import (
    ORDERS_IN_DETAIL,
    PAST_CASES_SHOWN,
    CaseScreen,
    case_screen,
    reply,
)
from caredesk.services.console.queues import (
    BREACHING_WINDOW,
    BULK_ACTIONS,
    OPEN_STATUSES,
    SORTS,
    VIEWS,
    BulkResult,
    LiveState,
    QueueCounts,
    QueueQuery,
    QueueView,
    UowFactory,
    bulk_update,
    live_state,
    queue,
    queue_counts,
)

__all__ = [
    "BREACHING_WINDOW",
    "BULK_ACTIONS",
    "OPEN_STATUSES",
    "ORDERS_IN_DETAIL",
    "PAST_CASES_SHOWN",
    "SORTS",
    "VIEWS",
    "AdminScreen",
    "ApprovalItem",
    "BulkResult",
    "CaseScreen",
    "LiveState",
    "QueueCounts",
    "QueueQuery",
    "QueueView",
    "UowFactory",
    "admin_screen",
    "approvals_screen",
    "bulk_update",
    "case_screen",
    "live_state",
    "queue",
    "queue_counts",
    "reply",
]
