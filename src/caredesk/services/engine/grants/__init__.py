"""Planning and granting remedies: one transaction per grant, bounded by authority.

The same functions serve the console, the REST API and the tool API for AI agents, so a
human and a machine get exactly the same policy enforcement. Each step has its module:
plans (`planning`), grants (`granting`) and what they change (`effects`), approvals
(`approvals`), reversals (`reversals`), the customer's deferred message (`notices`); what
they decide on (`situation`, `usage`, `preparation`). This package names them all.
"""

from __future__ import annotations

from caredesk.domain.policy.planner import Offer
from caredesk.services.engine.grants.approvals import decide_approval, list_approvals
from caredesk.services.engine.grants.effects import GrantOutcome
from caredesk.services.engine.grants.granting import (
    case_grants,
    get_grant,
    grant_for_customer,
    grant_on_case,
    refusal_of,
)
from caredesk.services.engine.grants.notices import (
    GRANT_NOTICE_JOB,
    register_grant_notices,
    send_grant_notice,
)
from caredesk.services.engine.grants.planning import Plan, plan_case
from caredesk.services.engine.grants.reversals import ORDER_CHANGING, reverse_grant
from caredesk.services.engine.grants.situation import AGENT, PORTAL, TOOL
from caredesk.services.engine.grants.usage import STANDING

__all__ = [
    "AGENT",
    "GRANT_NOTICE_JOB",
    "ORDER_CHANGING",
    "PORTAL",
    "STANDING",
    "TOOL",
    "GrantOutcome",
    "Offer",
    "Plan",
    "case_grants",
    "decide_approval",
    "get_grant",
    "grant_for_customer",
    "grant_on_case",
    "list_approvals",
    "plan_case",
    "refusal_of",
    "register_grant_notices",
    "reverse_grant",
    "send_grant_notice",
]
