"""Escalation: the case handed to a team or a lead with a summary, so nobody asks again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from caredesk.domain.agents import Actor, Permission, Role
from caredesk.domain.cases import Case, CaseStatus, Message, MessageKind
from caredesk.domain.customers import Customer
from caredesk.domain.errors import ValidationFailed
from caredesk.domain.grants import Grant
from caredesk.domain.lifecycle import Handoff, HandoffFacts, check_handoff, draft_handoff_summary
from caredesk.domain.orders import Order
from caredesk.services.access.staff import active_agent, check_team
from caredesk.services.core.commands import command
from caredesk.services.lifecycle.cases import DESK_NOTES, add_note, get_case, get_unclosed_case
from caredesk.services.lifecycle.unit import EscalationUnit


def _handoff_facts(uow: EscalationUnit, case: Case) -> HandoffFacts:
    assert case.id is not None
    return handoff_facts(
        [o for o in map(uow.orders.get, case.order_ids) if o is not None],
        uow.cases.messages(case.id),
        uow.grants.for_case(case.id),
        uow.customers.get(case.customer_id),
    )


def handoff_facts(
    orders: Sequence[Order],
    messages: Sequence[Message],
    grants: Sequence[Grant],
    customer: Customer | None,
) -> HandoffFacts:
    """What a handoff summary tells of a case, from its orders (in the case's order), messages,
    grants and customer as read already: the case page reads them once for all its panels."""
    products: list[str] = []
    for order in orders:
        products.extend(line.name for line in order.lines if line.name not in products)
    tried = [
        " ".join(m.body.split())[:200]
        for m in messages
        if m.kind is MessageKind.NOTE and m.body.strip() and not m.body.startswith(DESK_NOTES)
    ]
    return HandoffFacts(
        orders=[{"id": o.id, "status": o.status.value} for o in orders],
        products=products,
        tried=tried,
        grants=[
            f"{g.summary or ', '.join(g.remedy_ids)} ({g.status.value}, {g.cost})" for g in grants
        ],
        attachments=sum(len(m.attachments) for m in messages if m.kind is MessageKind.INBOUND),
        customer_contacts=[*customer.emails, *customer.phones] if customer else [],
    )


@dataclass(frozen=True, slots=True)
class HandoffDraft:
    case: Case
    summary: str
    facts: HandoffFacts


def draft_handoff(
    uow: EscalationUnit, actor: Actor, case_id: int, open_question: str = ""
) -> HandoffDraft:
    """The summary the desk proposes from what it already knows; the agent may accept it."""
    actor.require(Permission.READ)
    with uow:
        case = get_case(uow, case_id)
        facts = _handoff_facts(uow, case)
        return HandoffDraft(case, draft_handoff_summary(case.subject, facts, open_question), facts)


@command
def escalate(
    uow: EscalationUnit,
    actor: Actor,
    now: datetime,
    case_id: int,
    *,
    team_id: int | None = None,
    lead_id: int | None = None,
    summary: str | None = None,
    open_question: str = "",
) -> Handoff:
    """Hand the case to a team or a lead, with a summary the receiver reads instead of
    asking the customer again. No summary means the agent accepts the desk's draft."""
    actor.require(Permission.WRITE_CASES)
    if team_id is None and lead_id is None:
        raise ValidationFailed("escalate to a team, a lead, or both", details={"field": "team_id"})
    with uow:
        case = get_unclosed_case(uow, case_id, "a closed case cannot be escalated")
        _check_receivers(uow, team_id, lead_id)
        facts = _handoff_facts(uow, case)
        drafted = summary is None or not summary.strip()
        text = draft_handoff_summary(case.subject, facts, open_question) if drafted else summary
        assert text is not None
        text, question = check_handoff(text, open_question)
        assert case.id is not None
        handoff = Handoff(
            id=None,
            case_id=case.id,
            summary=text,
            open_question=question,
            facts=facts.as_dict(),
            drafted=drafted,
            created_by=actor.ref,
            created_at=now,
            from_agent_id=actor.agent_id or case.assignee_id,
            to_team_id=team_id,
            to_agent_id=lead_id,
        )
        uow.lifecycle.add_handoff(handoff)
        _hand_over(uow, actor, now, case, handoff)
        uow.commit()
        return handoff


def _check_receivers(uow: EscalationUnit, team_id: int | None, lead_id: int | None) -> None:
    """The team exists; the lead is an active lead or admin."""
    if team_id is not None:
        check_team(uow, team_id)
    if lead_id is not None and active_agent(uow, lead_id).role not in (Role.LEAD, Role.ADMIN):
        raise ValidationFailed(f"agent {lead_id} is not a lead", details={"field": "lead_id"})


def _hand_over(
    uow: EscalationUnit, actor: Actor, now: datetime, case: Case, handoff: Handoff
) -> None:
    before = case.snapshot()
    if handoff.to_team_id is not None:
        case.team_id = handoff.to_team_id
    # To a team alone, the case waits in the team's queue for whoever takes it.
    case.assignee_id = handoff.to_agent_id
    if case.status is CaseStatus.NEW:
        case.change_status(CaseStatus.OPEN, now)
    case.updated_at = now
    # The receiving team may run under another SLA policy: the clocks follow the event.
    case.record_change(actor, now, before, "case.escalated", extra={"handoff_id": handoff.id})
    uow.cases.save(case)
    add_note(uow, case, now, f"Escalated. Handoff summary:\n{handoff.summary}")


def case_handoffs(uow: EscalationUnit, actor: Actor, case_id: int) -> list[Handoff]:
    actor.require(Permission.READ)
    with uow:
        get_case(uow, case_id)
        return uow.lifecycle.handoffs(case_id)
