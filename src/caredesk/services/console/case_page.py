"""The case page: everything it shows read together, the planner's offers, and the reply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from caredesk.domain.agents import Actor, Agent, Permission, Team
from caredesk.domain.attachments import AttachmentLimits
from caredesk.domain.audit import AuditEvent
from caredesk.domain.cases import Case, CaseStatus, Message, MessageKind
from caredesk.domain.customers import Customer
from caredesk.domain.errors import DomainError, must_exist
from caredesk.domain.grants import Grant
from caredesk.domain.knowledge import Article
from caredesk.domain.lifecycle import CaseLink, Handoff, draft_handoff_summary
from caredesk.domain.money import ZERO
from caredesk.domain.orders import Order
from caredesk.domain.policy.model import Program
from caredesk.domain.search import SearchHit, SearchKind
from caredesk.services.cases import cases
from caredesk.services.cases.cases import NewAttachment
from caredesk.services.console.ports import OrderSummary
from caredesk.services.console.queues import OPEN_STATUSES
from caredesk.services.console.unit import ConsoleUnit
from caredesk.services.engine import grants
from caredesk.services.engine.facts import case_facts
from caredesk.services.engine.grants import Plan
from caredesk.services.engine.policy import policy_in_force
from caredesk.services.knowledge import knowledge, search
from caredesk.services.knowledge.search import Semantic
from caredesk.services.lifecycle import lifecycle
from caredesk.services.lifecycle.lifecycle import LifecycleOptions
from caredesk.services.sla import sla
from caredesk.services.sla.sla import CaseSla

PAST_CASES_SHOWN = 50
ORDERS_IN_DETAIL = 8
KB_MACROS_LISTED = 50


@dataclass(frozen=True, slots=True)
class CaseKnowledge:
    """The knowledge panel: the articles, macros and past cases most like the case, its known
    issues, and the articles and macros among the hits as this agent may read them."""

    hits: list[SearchHit]
    known_issues: list[str]
    articles: dict[str, Article]


@dataclass(frozen=True, slots=True)
class CaseEscalation:
    """Escalation, merge and split: the desk's drafted handoff summary, the handoffs so far and
    the case's links to others."""

    draft: str
    handoffs: list[Handoff]
    links: list[CaseLink]


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
    # What the panels show, each read by its feature's service in the page's unit of work.
    sla: CaseSla | None = None
    knowledge: CaseKnowledge | None = None
    escalation: CaseEscalation | None = None
    # The knowledge base's published macros, for the composer's list.
    kb_macros: list[Article] = field(default_factory=list)
    # The parts a feature refused to show (sla, knowledge, escalation), with the reason.
    refused: dict[str, str] = field(default_factory=dict)

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


def case_screen(
    uow: ConsoleUnit,
    actor: Actor,
    now: datetime,
    case_id: int,
    *,
    semantic: Semantic | None = None,
) -> CaseScreen:
    """Everything the case page shows, read in one transaction: the case, its customer and
    their history, the planner's offers for this agent, and what each panel shows.

    Each feature's read is its own service's, with its own permission check, joining this
    unit of work: a row one of them read is not read again by the next.
    """
    actor.require(Permission.READ)
    with uow:
        screen = _story(uow, case_id)
        plan: Plan | None = None
        plan_error: str | None = None
        try:
            plan = grants.plan_case(uow, actor, now, case_id)
        except DomainError as exc:
            plan_error = exc.message
        refused: dict[str, str] = {}
        return replace(
            screen,
            plan=plan,
            plan_error=plan_error,
            sla=_part(refused, "sla", lambda: sla.case_sla(uow, actor, case_id, now)),
            knowledge=_part(refused, "knowledge", lambda: _knowledge(uow, actor, screen, semantic)),
            escalation=_part(refused, "escalation", lambda: _escalation(uow, actor, screen)),
            kb_macros=knowledge.published_macros(uow, actor, KB_MACROS_LISTED),
            refused=refused,
        )


T = TypeVar("T")


def _part(refused: dict[str, str], name: str, read: Callable[[], T]) -> T | None:
    """One feature's part of the page; its refusal is noted and the rest of the page shows."""
    try:
        return read()
    except DomainError as exc:
        refused[name] = exc.message
        return None


def _story(uow: ConsoleUnit, case_id: int) -> CaseScreen:
    """The case, its messages and trail, and its customer with their orders, cases and grants.

    The case's own orders are read whole here, before the planner and the panels look them
    up by key: the unit of work finds them again without another query.
    """
    found, newest = uow.cases.with_customers_newest(case_id, PAST_CASES_SHOWN + 1)
    case = must_exist(found, "case", case_id)
    customer = must_exist(uow.customers.get(case.customer_id), "customer", case.customer_id)
    known = list(case_facts(case)["case.known_issues"])
    # The case's grants are not the customer's filtered: a forced merge may bring another's.
    # One read for both, which the planner's look at the case's grants finds again.
    customer_grants, case_grants = uow.grants.for_customer_and_case(customer.id, case_id)
    return CaseScreen(
        case=case,
        messages=uow.cases.messages(case_id),
        events=uow.audit.for_case(case_id),
        grants=case_grants,
        customer=customer,
        orders=uow.console.orders_in_detail(customer.id, list(case.order_ids), ORDERS_IN_DETAIL),
        order_summaries=uow.console.order_summaries(customer.id),
        past_cases=[c for c in newest if c.id != case_id][:PAST_CASES_SHOWN],
        customer_grants=customer_grants,
        agents={a.id: a for a in uow.agents.all() if a.id is not None},
        teams={t.id: t for t in uow.teams.all() if t.id is not None},
        known_issues=known,
        plan=None,
        plan_error=None,
        **_policy_words(uow, known),
    )


def _policy_words(uow: ConsoleUnit, known: list[str]) -> dict[str, Any]:
    """The programs for the case's known issues, the currency, and the policy's sentences for
    its rules and remedies; a desk with no policy in force yet shows none."""
    try:
        policy = policy_in_force(uow).policy
    except DomainError:
        return {"programs": []}
    return {
        "programs": [p for p in policy.programs if p.known_issue in known],
        "currency": policy.currency,
        "rule_sentences": {r.id: r.description or r.message for r in policy.rules},
        "remedy_labels": {r.id: r.label for r in policy.remedies},
    }


def _knowledge(
    uow: ConsoleUnit, actor: Actor, screen: CaseScreen, semantic: Semantic | None
) -> CaseKnowledge:
    found = search.suggest_for(uow, actor, screen.case, screen.messages, semantic=semantic)
    wanted = [h for h in found.hits if h.kind in (SearchKind.ARTICLE, SearchKind.MACRO)]
    return CaseKnowledge(
        hits=found.hits,
        known_issues=found.known_issues,
        # The suggestions read these articles already: the unit of work finds them by key.
        articles={
            h.ref_id: knowledge.get_article(uow, actor, h.ref_id)
            for h in wanted
            if h.ref_id.isdigit()
        },
    )


def _escalation(uow: ConsoleUnit, actor: Actor, screen: CaseScreen) -> CaseEscalation:
    """The handoff summary is drafted from what the screen read; the case's own orders are
    found again by key, without another query."""
    case = screen.case
    assert case.id is not None
    facts = lifecycle.handoff_facts(
        [o for o in map(uow.orders.get, case.order_ids) if o is not None],
        screen.messages,
        screen.grants,
        screen.customer,
    )
    # Both panels' lists in one read, which the services below find again.
    uow.lifecycle.handoffs_and_links(case.id)
    return CaseEscalation(
        draft=draft_handoff_summary(case.subject, facts, ""),
        handoffs=lifecycle.case_handoffs(uow, actor, case.id),
        links=lifecycle.case_links(uow, actor, case.id),
    )


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
