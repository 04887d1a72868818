"""The approvals page: grants waiting for a lead, and which of them the reader may decide."""

from __future__ import annotations

from dataclasses import dataclass

from caredesk.domain.agents import Actor, Agent, Permission
from caredesk.domain.cases import Case
from caredesk.domain.grants import Approval, ApprovalStatus, Grant
from caredesk.services.console.unit import ConsoleUnit


@dataclass(frozen=True, slots=True)
class ApprovalItem:
    approval: Approval
    grant: Grant
    case: Case | None
    customer_name: str
    # The agent who asked for the grant; None when a token with no agent behind it asked.
    asked_by: Agent | None
    may_decide: bool
    # Asked by the one looking: they may withdraw it (deny), never approve it.
    own: bool = False


def approvals_screen(
    uow: ConsoleUnit, actor: Actor, status: ApprovalStatus | None, limit: int = 100
) -> list[ApprovalItem]:
    actor.require(Permission.READ)
    from caredesk.domain.policy.authority import outranks

    with uow:
        found = uow.approvals.find(status, limit)
        agents = {a.id: a for a in uow.agents.all() if a.id is not None}
        items = []
        grant_rows = {a.grant_id: uow.grants.get(a.grant_id) for a in found}
        case_rows = {a.case_id: uow.cases.get(a.case_id) for a in found if a.case_id}
        names = uow.console.customer_names(
            {g.customer_id for g in grant_rows.values() if g is not None}
        )
        for approval in found:
            grant = grant_rows[approval.grant_id]
            if grant is None:
                continue
            items.append(
                ApprovalItem(
                    approval=approval,
                    grant=grant,
                    case=case_rows.get(approval.case_id) if approval.case_id else None,
                    customer_name=names.get(grant.customer_id, grant.customer_id),
                    asked_by=agents.get(grant.agent_id) if grant.agent_id else None,
                    may_decide=actor.can(Permission.APPROVE)
                    and approval.status is ApprovalStatus.PENDING
                    and outranks(actor.role.grants_as.value, approval.approver_role),
                    own=approval.asked_by(actor.ref, actor.agent_id, grant.agent_id),
                )
            )
        return items
