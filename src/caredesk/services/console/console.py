"""What the agent console shows and does, gathered so each page is one call.

Reads happen in one read-only unit of work per page; writes go through the same case,
grant and auth services as the API, so the console can never do what the API would refuse.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from caredesk.domain.agents import Actor, Agent, Permission, Team
from caredesk.domain.attachments import AttachmentLimits
from caredesk.domain.audit import AuditEvent
from caredesk.domain.cases import Case, CaseStatus, Message, MessageKind
from caredesk.domain.customers import Customer
from caredesk.domain.errors import DomainError, ErrorCode, NotFound, ValidationFailed
from caredesk.domain.grants import Approval, ApprovalStatus, Grant, PolicyVersion
from caredesk.domain.money import ZERO
from caredesk.domain.orders import Order
from caredesk.domain.policy.model import Program
from caredesk.domain.tokens import ApiToken
from caredesk.services.cases import cases
from caredesk.services.cases.cases import NewAttachment
from caredesk.services.console.ports import OrderSummary
from caredesk.services.core.ports import CaseFilter, Page, UnitOfWork
from caredesk.services.engine import grants
from caredesk.services.engine.facts import case_facts
from caredesk.services.engine.grants import CasePlan
from caredesk.services.engine.policy import policy_in_force
from caredesk.services.lifecycle.lifecycle import LifecycleOptions

UowFactory = Callable[[], UnitOfWork]
OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.PENDING, CaseStatus.ON_HOLD)
PAST_CASES_SHOWN = 50
ORDERS_IN_DETAIL = 8
SURVEYS_READ = 10_000


# --- queues ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueCounts:
    mine: int
    unassigned: int
    team: int
    open: int
    approvals: int


@dataclass(frozen=True, slots=True)
class LiveState:
    stamp: str
    counts: QueueCounts


@dataclass(frozen=True, slots=True)
class QueueQuery:
    """Which cases a queue shows. `view` picks the base; the rest narrow it."""

    view: str = "mine"
    statuses: tuple[CaseStatus, ...] = ()
    tag: str | None = None
    text: str | None = None
    team_id: int | None = None
    assignee_id: int | None = None
    sort: str = "updated"  # "updated": latest activity first; "due": SLA due time first


VIEWS = ("mine", "unassigned", "team", "open", "all", "breaching")
SORTS = ("updated", "due")
# "Breaching soon": a running SLA clock due within this window (or already overdue).
BREACHING_WINDOW = timedelta(hours=4)


@dataclass(frozen=True, slots=True)
class QueueView:
    query: QueueQuery
    page: Page[Case]
    customer_names: dict[str, str]
    agents: dict[int, Agent]
    teams: dict[int, Team]
    my_team_ids: list[int]
    counts: QueueCounts
    due: dict[int, datetime] = field(default_factory=dict)


def _me(uow: UnitOfWork, actor: Actor) -> Agent | None:
    return uow.agents.get(actor.agent_id) if actor.agent_id is not None else None


def _counts(uow: UnitOfWork, actor: Actor, team_ids: Sequence[int]) -> QueueCounts:
    count = uow.console.count_cases
    mine = (
        count(CaseFilter(status=OPEN_STATUSES, assignee_id=actor.agent_id)) if actor.agent_id else 0
    )
    team = sum(count(CaseFilter(status=OPEN_STATUSES, team_id=t)) for t in team_ids)
    return QueueCounts(
        mine=mine,
        unassigned=count(CaseFilter(status=OPEN_STATUSES, unassigned=True)),
        team=team,
        open=count(CaseFilter(status=OPEN_STATUSES)),
        approvals=uow.console.count_pending_approvals() if actor.can(Permission.APPROVE) else 0,
    )


def queue_counts(uow: UnitOfWork, actor: Actor) -> QueueCounts:
    actor.require(Permission.READ)
    with uow:
        me = _me(uow, actor)
        return _counts(uow, actor, me.team_ids if me else [])


def live_state(uow: UnitOfWork, actor: Actor, known_stamp: str | None) -> LiveState:
    """The change stamp, and the counts when the stamp moved since `known_stamp`."""
    actor.require(Permission.READ)
    with uow:
        stamp = uow.console.change_stamp()
        if stamp == known_stamp:
            return LiveState(stamp, QueueCounts(-1, -1, -1, -1, -1))
        me = _me(uow, actor)
        return LiveState(stamp, _counts(uow, actor, me.team_ids if me else []))


def _filter(query: QueueQuery, actor: Actor, team_ids: list[int]) -> CaseFilter:
    statuses = query.statuses or (OPEN_STATUSES if query.view != "all" else ())
    assignee_id, unassigned, team_id = query.assignee_id, False, query.team_id
    if query.view == "mine":
        assignee_id = actor.agent_id if actor.agent_id is not None else -1
    elif query.view == "unassigned":
        unassigned = True
    elif query.view == "team" and team_id is None:
        team_id = team_ids[0] if team_ids else -1
    return CaseFilter(
        status=statuses,
        assignee_id=assignee_id,
        unassigned=unassigned,
        team_id=team_id,
        tag=query.tag,
        text=query.text,
    )


def _by_due(
    uow: UnitOfWork,
    filters: CaseFilter,
    limit: int,
    cursor: str | None,
    due_before: datetime | None,
) -> Page[Case]:
    """Sorted by due time the page is an offset, not a keyset: due times move as clocks run."""
    offset_text = (cursor or "o:0").removeprefix("o:")
    if not offset_text.isdigit() or int(offset_text) > 1_000_000:
        raise ValidationFailed("cursor is not one this page issued", details={"field": "cursor"})
    offset = int(offset_text)
    found = uow.console.cases_by_due(filters, limit + 1, offset, due_before)
    more = f"o:{offset + limit}" if len(found) > limit else None
    return Page(found[:limit], more)


def queue(
    uow: UnitOfWork,
    actor: Actor,
    query: QueueQuery,
    limit: int,
    cursor: str | None,
    now: datetime | None = None,
) -> QueueView:
    actor.require(Permission.READ)
    if query.view not in VIEWS:
        raise ValidationFailed(f"unknown queue {query.view!r}", details={"field": "view"})
    if query.sort not in SORTS:
        raise ValidationFailed(f"unknown sort {query.sort!r}", details={"field": "sort"})
    if query.view == "breaching" and now is None:
        raise ValidationFailed("the breaching-soon queue needs the time", details={"field": "view"})
    with uow:
        me = _me(uow, actor)
        team_ids = me.team_ids if me else []
        filters = _filter(query, actor, team_ids)
        if query.view == "breaching":
            assert now is not None
            page = _by_due(uow, filters, limit, cursor, now + BREACHING_WINDOW)
        elif query.sort == "due":
            page = _by_due(uow, filters, limit, cursor, None)
        else:
            page = uow.cases.find(filters, limit, cursor)
        names = uow.console.customer_names({c.customer_id for c in page.items})
        due = uow.console.next_due([c.id for c in page.items if c.id is not None])
        agents = {a.id: a for a in uow.agents.all() if a.id is not None}
        teams = {t.id: t for t in uow.teams.all() if t.id is not None}
        return QueueView(
            query,
            page,
            names,
            agents,
            teams,
            team_ids,
            _counts(uow, actor, team_ids),
            due,
        )


@dataclass(frozen=True, slots=True)
class BulkResult:
    case_id: int
    ok: bool
    message: str


BULK_ACTIONS = ("assign", "assign_me", "solve", "close", "tag")


def bulk_update(
    uow: UowFactory,
    actor: Actor,
    now: datetime,
    items: list[tuple[int, int]],
    action: str,
    *,
    assignee_id: int | None = None,
    tag: str | None = None,
) -> list[BulkResult]:
    """Apply one action to many cases, each in its own transaction, each at the version shown.

    A case someone changed since the queue was drawn is skipped and reported, never overwritten.
    """
    actor.require(Permission.WRITE_CASES)
    if action not in BULK_ACTIONS:
        raise ValidationFailed(f"unknown bulk action {action!r}", details={"field": "action"})
    if not items:
        raise ValidationFailed("select at least one case", details={"field": "cases"})
    if action == "tag" and not (tag or "").strip():
        raise ValidationFailed("name the tag to add", details={"field": "tag"})
    if action == "assign_me":
        if actor.agent_id is None:
            raise ValidationFailed("only a signed-in agent can take cases")
        action, assignee_id = "assign", actor.agent_id
    results = []
    for case_id, version in items:
        try:
            _bulk_one(uow, actor, now, case_id, version, action, assignee_id, tag)
            results.append(BulkResult(case_id, True, "done"))
        except DomainError as exc:
            results.append(BulkResult(case_id, False, exc.message))
    return results


def _bulk_one(
    uow: UowFactory,
    actor: Actor,
    now: datetime,
    case_id: int,
    version: int,
    action: str,
    assignee_id: int | None,
    tag: str | None,
) -> None:
    if action == "assign":
        cases.assign_case(
            uow(), actor, now, case_id, assignee_id=assignee_id, expected_version=version
        )
    elif action == "solve":
        cases.change_status(uow(), actor, now, case_id, CaseStatus.SOLVED, expected_version=version)
    elif action == "close":
        current = cases.get_case(uow(), actor, case_id).case
        if current.version != version:
            raise DomainError(
                f"case {case_id} was changed by someone else; reload the queue",
                code=ErrorCode.VERSION_CONFLICT,
            )
        if current.status is not CaseStatus.SOLVED:
            current = cases.change_status(
                uow(), actor, now, case_id, CaseStatus.SOLVED, expected_version=version
            )
        cases.change_status(
            uow(), actor, now, case_id, CaseStatus.CLOSED, expected_version=current.version
        )
    elif action == "tag":
        current = cases.get_case(uow(), actor, case_id).case
        cases.update_case(
            uow(),
            actor,
            now,
            case_id,
            expected_version=version,
            changes={"tags": [*current.tags, str(tag).strip().lower()]},
        )


# --- the case page ---------------------------------------------------------------------------


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
    plan: CasePlan | None
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
        case = work.cases.get(case_id)
        if case is None:
            raise NotFound("case", case_id)
        customer = work.customers.get(case.customer_id)
        if customer is None:
            raise NotFound("customer", case.customer_id)
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
    plan: CasePlan | None = None
    plan_error: str | None = None
    try:
        plan = grants.plan_case(uow(), actor, now, case_id)
    except DomainError as exc:
        plan_error = exc.message
    return replace(screen, plan=plan, plan_error=plan_error)


def reply(
    uow: UnitOfWork,
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


# --- approvals -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApprovalItem:
    approval: Approval
    grant: Grant
    case: Case | None
    customer_name: str
    requester: Agent | None
    may_decide: bool
    # Asked by the one looking: they may withdraw it (deny), never approve it.
    own: bool = False


def approvals_screen(
    uow: UnitOfWork, actor: Actor, status: ApprovalStatus | None, limit: int = 100
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
                    requester=agents.get(grant.agent_id) if grant.agent_id else None,
                    may_decide=actor.can(Permission.APPROVE)
                    and approval.status is ApprovalStatus.PENDING
                    and outranks(actor.role.grants_as.value, approval.approver_role),
                    own=approval.asked_by(actor.ref, actor.agent_id, grant.agent_id),
                )
            )
        return items


# --- administration --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AdminScreen:
    agents: list[Agent]
    teams: list[Team]
    tokens: list[ApiToken]
    policies: list[PolicyVersion]


def admin_screen(uow: UnitOfWork, actor: Actor) -> AdminScreen:
    actor.require(Permission.MANAGE_AGENTS)
    with uow:
        return AdminScreen(
            agents=uow.agents.all(),
            teams=uow.teams.all(),
            tokens=uow.tokens.all() if actor.can(Permission.MANAGE_TOKENS) else [],
            policies=uow.policies.history(),
        )


# --- the manager's dashboard -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DailyFigure:
    day: date
    value: float


# Costs posted by bundles granted before ledger entries named their remedy.
UNATTRIBUTED = "(not recorded by remedy)"


@dataclass(frozen=True, slots=True)
class Dashboard:
    since: datetime
    days: int
    volume: list[DailyFigure]
    first_reply_hours: list[DailyFigure]
    resolution_hours: list[DailyFigure]
    grants_by_remedy: list[tuple[str, int, Decimal]]
    service_levels: dict[int, int]
    cases: int
    replied: int
    solved: int
    grant_cost: Decimal
    median_first_reply_hours: float | None
    median_resolution_hours: float | None
    # Filled by features that measure them (SLA clocks, satisfaction surveys) when present.
    extra_series: dict[str, list[DailyFigure]] = field(default_factory=dict)
    sla_met_share: float | None = None
    csat_average: float | None = None
    currency: str = "USD"


def _hours(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 3600)


def _daily_share(outcomes: list[tuple[date, bool]], days: list[date]) -> list[DailyFigure]:
    by_day: dict[date, list[bool]] = {}
    for day, ok in outcomes:
        by_day.setdefault(day, []).append(ok)
    return [
        DailyFigure(
            day, round(100 * sum(by_day[day]) / len(by_day[day]), 1) if day in by_day else 0.0
        )
        for day in days
    ]


def _daily_mean(pairs: list[tuple[date, float]], days: list[date]) -> list[DailyFigure]:
    by_day: dict[date, list[float]] = {}
    for day, value in pairs:
        by_day.setdefault(day, []).append(value)
    return [
        DailyFigure(day, round(statistics.mean(by_day[day]), 2) if day in by_day else 0.0)
        for day in days
    ]


def _daily_median(pairs: list[tuple[date, float]], days: list[date]) -> list[DailyFigure]:
    by_day: dict[date, list[float]] = {}
    for day, value in pairs:
        by_day.setdefault(day, []).append(value)
    return [
        DailyFigure(day, round(statistics.median(by_day[day]), 2) if day in by_day else 0.0)
        for day in days
    ]


def dashboard(uow: UnitOfWork, actor: Actor, now: datetime, days: int = 30) -> Dashboard:
    actor.require(Permission.APPROVE)
    if not 1 <= days <= 366:
        raise ValidationFailed("days must be between 1 and 366", details={"field": "days"})
    start_day = (now - timedelta(days=days - 1)).date()
    since = datetime.combine(start_day, datetime.min.time(), tzinfo=now.tzinfo)
    calendar = [start_day + timedelta(days=i) for i in range(days)]
    with uow:
        timings = uow.console.case_timings(since)
        granted = uow.console.executed_grants(since)
        remedy_costs = uow.console.grant_cost_by_remedy(since)
        sla_outcomes = uow.console.sla_outcomes(since)
        surveys = uow.portal.surveys(answered_since=since, limit=SURVEYS_READ)
        try:
            currency = policy_in_force(uow).policy.currency
        except DomainError:  # no policy loaded yet: amounts read as the default currency's
            currency = "USD"
    # The volume comes from the same rows as the timings: one pass over the period's cases.
    per_day: dict[date, int] = {}
    for t in timings:
        per_day[t.created_at.date()] = per_day.get(t.created_at.date(), 0) + 1
    extra: dict[str, list[DailyFigure]] = {}
    if sla_outcomes:
        extra["SLA attainment (share of targets met, by day decided)"] = _daily_share(
            sla_outcomes, calendar
        )
    answered = [
        (s.answered_at.date(), float(s.score))
        for s in surveys
        if s.answered_at is not None and s.score is not None
    ]
    if answered:
        extra["Satisfaction (average score 1-5, by day answered)"] = _daily_mean(answered, calendar)
    replies = [
        (t.created_at.date(), _hours(t.created_at, t.first_reply_at))
        for t in timings
        if t.first_reply_at
    ]
    solves = [
        (t.created_at.date(), _hours(t.created_at, t.solved_at)) for t in timings if t.solved_at
    ]
    # Each remedy costs what it posted to the ledger: a keep-the-item bundled with a refund
    # costs nothing, whatever the bundle cost.
    granted_count: dict[str, int] = {}
    for g in granted:
        for remedy_id in g.remedy_ids:
            granted_count[remedy_id] = granted_count.get(remedy_id, 0) + 1
    by_remedy = {r: (n, remedy_costs.get(r, ZERO)) for r, n in granted_count.items()}
    unattributed = remedy_costs.get(None, ZERO)
    if unattributed:
        by_remedy[UNATTRIBUTED] = (0, unattributed)
    levels = {1: 0, 2: 0, 3: 0}
    for t in timings:
        if t.solved_at is not None and t.service_level in levels:
            levels[t.service_level] += 1
    return Dashboard(
        currency=currency,
        since=since,
        days=days,
        volume=[DailyFigure(d, float(per_day.get(d, 0))) for d in calendar],
        first_reply_hours=_daily_median(replies, calendar),
        resolution_hours=_daily_median(solves, calendar),
        grants_by_remedy=sorted(
            ((r, n, c.quantize(Decimal("0.01"))) for r, (n, c) in by_remedy.items()),
            key=lambda item: (-item[2], item[0]),
        ),
        service_levels=levels,
        cases=len(timings),
        replied=len(replies),
        solved=len(solves),
        grant_cost=sum((g.cost for g in granted), ZERO),
        median_first_reply_hours=round(statistics.median(v for _, v in replies), 2)
        if replies
        else None,
        median_resolution_hours=round(statistics.median(v for _, v in solves), 2)
        if solves
        else None,
        extra_series=extra,
        sla_met_share=(
            sum(1 for _, met in sla_outcomes if met) / len(sla_outcomes) if sla_outcomes else None
        ),
        csat_average=round(statistics.mean(v for _, v in answered), 2) if answered else None,
    )
