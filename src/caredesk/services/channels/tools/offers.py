"""caredesk's own tools, beyond the retail set: the offers the empowerment engine plans
for a case, and granting one of them."""

from __future__ import annotations

from typing import Any

from caredesk.domain.errors import ErrorCode
from caredesk.services.channels.tools.arguments import arguments, strings
from caredesk.services.channels.tools.registry import ToolCall, ToolResult, ToolSet
from caredesk.services.engine import grants

TOOLS = ToolSet()


def _case_id() -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": 2**63 - 1, "description": "The case id."}


@TOOLS.read(
    "plan_case",
    "The ranked remedies this agent may grant on a case, with costs and rules.",
    arguments(["case_id"], case_id=_case_id()),
)
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
        for o in result.ranking.offers
    ]
    return ToolResult("done", {"case_id": case_id, "basis": result.basis, "offers": offers})


@TOOLS.write(
    "grant_offer",
    "Grant a bundle of remedies on a case (as planned by plan_case).",
    arguments(
        ["case_id", "remedies"],
        case_id=_case_id(),
        remedies=strings("Remedy ids from the plan."),
    ),
)
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
