"""The case page: everything it shows read together, the planner's offers, and the reply."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from caredesk.domain.agents import Actor, Agent, Permission, Team
from caredesk.domain.attachments import AttachmentLimits
from caredesk.domain.audit import AuditEvent
from caredesk.domain.cases import Case, CaseStatus, Message, MessageKind
from caredesk.domain.customers import Customer
from caredesk.domain.errors import DomainError, must_exist
from caredesk.domain.grants import Grant
from caredesk.domain.money import ZERO
from caredesk.domain.orders import Order
from caredesk.domain.policy.model import Program
from caredesk.services.cases import cases
from caredesk.services.cases.cases import NewAttachment
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.console.ports import OrderSummary
from caredesk.services.console.queues import OPEN_STATUSES, UowFactory
from caredesk.services.console.unit import ConsoleUnit
from caredesk.services.engine import grants
from caredesk.services.engine.facts import case_facts
from caredesk.services.engine.grants import Plan
from caredesk.services.engine.policy import policy_in_force
from caredesk.services.lifecycle.lifecycle import LifecycleOptions

PAST_CASES_SHOWN = 50
ORDERS_IN_DETAIL = 8


@dataclass(frozen=True, slots=True)
class CaseScreen:
    case: Case
    messages: list[Message]
    events: list[AuditEvent]
    grants: list[Grant]
    customer: Customer
    # The case's orders and the newest few, whole; every order as a summary line.
    orders: list[Order]
    order_summaries: list[OrderSummary]
    past_cases: list[Case]
    customer_grants: list[Grant]
    agents: dict[int, Agent]
    teams: dict[int, Team]
    programs: list[Program]
    known_issues: list[str]
    plan: Plan | None
    plan_error: str | None
    currency: str = "USD"
    # The policy's words for its rules and remedies, so the page says sentences, not ids.
    rule_sentences: dict[str, str] = field(default_factory=dict)
    remedy_labels: dict[str, str] = field(default_factory=dict)

    @property
    def lifetime_value(self) -> Decimal | None:
        return self.plan.customer_value if self.plan else None

    @property
    def lifetime_spend(self) -> Decimal:
        return sum((o.total for o in self.order_summaries if o.status != "cancelled"), ZERO)

    @property
    def other_open_cases(self) -> list[Case]:
        """The customer's other cases still waiting on the desk: one answer may serve them all."""
        return [c for c in self.past_cases if c.status in OPEN_STATUSES]


def case_screen(uow: UowFactory, actor: Actor, now: datetime, case_id: int) -> CaseScreen:
    """Everything the case page shows, read together, and the planner's offers for this agent."""
    actor.require(Permission.READ)
    with uow() as work:
        case = must_exist(work.cases.get(case_id), "case", case_id)
        customer = must_exist(work.customers.get(case.customer_id), "customer", case.customer_id)
        past = work.cases.find(CaseFilter(customer_id=customer.id), PAST_CASES_SHOWN + 1, None)
        case_grants = work.grants.for_case(case_id)
        known = list(case_facts(case)["case.known_issues"])
        currency = "USD"
        rule_sentences: dict[str, str] = {}
        remedy_labels: dict[str, str] = {}
        try:
            policy = policy_in_force(work).policy
            programs = [p for p in policy.programs if p.known_issue in known]
            currency = policy.currency
            rule_sentences = {r.id: r.description or r.message for r in policy.rules}
            remedy_labels = {r.id: r.label for r in policy.remedies}
        except DomainError:
            programs = []
        screen = CaseScreen(
            case=case,
            messages=work.cases.messages(case_id),
            events=work.audit.for_case(case_id),
            grants=case_grants,
            customer=customer,
            orders=work.console.orders_in_detail(
                customer.id, list(case.order_ids), ORDERS_IN_DETAIL
            ),
            order_summaries=work.console.order_summaries(customer.id),
            past_cases=[c for c in past.items if c.id != case_id][:PAST_CASES_SHOWN],
            customer_grants=work.grants.for_customer(customer.id),
            agents={a.id: a for a in work.agents.all() if a.id is not None},
            teams={t.id: t for t in work.teams.all() if t.id is not None},
            programs=programs,
            known_issues=known,
            plan=None,
            plan_error=None,
            currency=currency,
            rule_sentences=rule_sentences,
            remedy_labels=remedy_labels,
        )
    plan: Plan | None = None
    plan_error: str | None = None
    try:
        plan = grants.plan_case(uow(), actor, now, case_id)
    except DomainError as exc:
        plan_error = exc.message
    return replace(screen, plan=plan, plan_error=plan_error)


def reply(
    uow: ConsoleUnit,
    actor: Actor,
    now: datetime,
    case_id: int,
    *,
    kind: MessageKind,
    body: str,
    attachments: list[NewAttachment],
    attachment_limits: AttachmentLimits,
    solve_at_version: int | None = None,
    lifecycle_options: LifecycleOptions | None = None,
) -> Message:
    """Send a reply or add a note; with `solve_at_version`, also mark the case solved.

    One transaction: the reply and the solving land together or not at all, and a page
    someone else changed since (another version) sends nothing.
    """
    return cases.add_message(
        uow,
        actor,
        now,
        case_id,
        kind=kind,
        body=body,
        attachments=attachments,
        attachment_limits=attachment_limits,
        lifecycle_options=lifecycle_options,
        expected_version=solve_at_version,
        then_status=CaseStatus.SOLVED if solve_at_version is not None else None,
    )
