"""The console's queues: which cases each shows, their counts, and actions on many at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from caredesk.domain.agents import Actor, Agent, Permission, Team
from caredesk.domain.cases import Case, CaseStatus, Channel, Priority
from caredesk.domain.errors import DomainError, ErrorCode, ValidationFailed
from caredesk.services.cases import cases
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.console.unit import ConsoleUnit
from caredesk.services.core.ports import Page

UowFactory = Callable[[], ConsoleUnit]
OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.PENDING, CaseStatus.ON_HOLD)


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
    # The cases of no team / of no agent (`team=none`, `agent=none`): a report's figure of them.
    no_team: bool = False
    unassigned: bool = False
    sort: str = "updated"  # "updated": latest activity first; "due": SLA due time first
    # A report's drill-down (services/reports): its channel, priority, remedy and period of
    # days opened (both included, UTC).
    channel: Channel | None = None
    priority: Priority | None = None
    remedy: str | None = None
    opened_from: date | None = None
    opened_to: date | None = None


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
    # The change stamp read before the cases: a live page starts from it, so a case that
    # arrives between this read and the page's first live event still refreshes the list.
    stamp: str = ""


def _counts(uow: ConsoleUnit, actor: Actor, team_ids: Sequence[int]) -> QueueCounts:
    """Each queue's count, in one statement over the open cases (and one for approvals)."""
    each = {"unassigned": CaseFilter(unassigned=True), "open": CaseFilter()}
    if actor.agent_id is not None:
        each["mine"] = CaseFilter(assignee_id=actor.agent_id)
    # A case has one team: my team's count is the sum of my teams'.
    each |= {f"team:{t}": CaseFilter(team_id=t) for t in team_ids}
    counted = uow.console.count_cases_each(CaseFilter(status=OPEN_STATUSES), each)
    return QueueCounts(
        mine=counted.get("mine", 0),
        unassigned=counted["unassigned"],
        team=sum(counted[f"team:{t}"] for t in team_ids),
        open=counted["open"],
        approvals=uow.console.count_pending_approvals() if actor.can(Permission.APPROVE) else 0,
    )


def _my_team_ids(uow: ConsoleUnit, actor: Actor) -> list[int]:
    me = uow.agents.get(actor.agent_id) if actor.agent_id is not None else None
    return me.team_ids if me else []


def queue_counts(uow: ConsoleUnit, actor: Actor) -> QueueCounts:
    actor.require(Permission.READ)
    with uow:
        return _counts(uow, actor, _my_team_ids(uow, actor))


def live_state(uow: ConsoleUnit, actor: Actor, known_stamp: str | None) -> LiveState:
    """The change stamp, and the counts when the stamp moved since `known_stamp`."""
    actor.require(Permission.READ)
    with uow:
        stamp = uow.console.change_stamp()
        if stamp == known_stamp:
            return LiveState(stamp, QueueCounts(-1, -1, -1, -1, -1))
        return LiveState(stamp, _counts(uow, actor, _my_team_ids(uow, actor)))


def _filter(query: QueueQuery, actor: Actor, team_ids: list[int]) -> CaseFilter:
    statuses = query.statuses or (OPEN_STATUSES if query.view != "all" else ())
    assignee_id, unassigned, team_id = query.assignee_id, query.unassigned, query.team_id
    if query.view == "mine":
        # My cases whatever agent the query names, as with an agent's id.
        assignee_id, unassigned = actor.agent_id if actor.agent_id is not None else -1, False
    elif query.view == "unassigned":
        unassigned = True
    elif query.view == "team" and team_id is None and not query.no_team:
        team_id = team_ids[0] if team_ids else -1
    return CaseFilter(
        status=statuses,
        assignee_id=assignee_id,
        unassigned=unassigned,
        team_id=team_id,
        no_team=query.no_team,
        tag=query.tag,
        text=query.text,
        channel=(query.channel,) if query.channel else (),
        priority=(query.priority,) if query.priority else (),
        remedy=query.remedy,
        created_from=_day_start(query.opened_from),
        created_before=_day_start(query.opened_to, days=1),
    )


def _day_start(day: date | None, days: int = 0) -> datetime | None:
    """The UTC start of the day (or of `days` later), as the reports' periods count days."""
    return None if day is None else datetime.combine(day + timedelta(days=days), time(), UTC)


def _by_due(
    uow: ConsoleUnit,
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
    uow: ConsoleUnit,
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
        stamp = uow.console.change_stamp()
        # The page names every agent: the signed-in one's teams come with them.
        agents = {a.id: a for a in uow.agents.all() if a.id is not None}
        me = agents.get(actor.agent_id) if actor.agent_id is not None else None
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
            stamp,
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
