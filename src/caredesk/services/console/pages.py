"""What the console's forms decide before a command runs: which changes an agent made,
which notice follows, and a grant's second try when two clicks race on one key."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from caredesk.domain.agents import Actor, Role
from caredesk.domain.cases import CaseStatus, MessageKind, Priority
from caredesk.domain.errors import DomainError, ErrorCode, ValidationFailed
from caredesk.domain.knowledge import ArticleKind, ArticleStatus, Visibility
from caredesk.services.console.console import QueueQuery
from caredesk.services.console.unit import ConsoleUnit
from caredesk.services.engine import grants
from caredesk.services.reports.filters import NARROWING_KEYS, id_or_none, queue_narrowing

CASE_FIELDS = ("status", "priority", "assignee", "team", "tags")


@dataclass(frozen=True)
class ReplyRequest:
    kind: MessageKind
    solve_at_version: int | None
    notice: str


def reply_request(kind: str, solve: str, version: int | None) -> ReplyRequest:
    """A reply or a note from the composer; solving with a reply needs the version read."""
    if kind not in ("reply", "note"):
        raise ValidationFailed("kind is reply or note", details={"field": "kind"})
    solve_at = version if solve and kind == "reply" else None
    if solve and kind == "reply" and version is None:
        raise ValidationFailed("solving needs the case version", details={"field": "version"})
    notice = "noted" if kind == "note" else ("sent_solved" if solve_at else "sent")
    message_kind = MessageKind.NOTE if kind == "note" else MessageKind.OUTBOUND
    return ReplyRequest(message_kind, solve_at, notice)


def case_version(version: str) -> int:
    if not version.isdigit():
        raise ValidationFailed("the form lacks the case version", details={"field": "version"})
    return int(version)


def field_changes(chosen: Mapping[str, str], shown: Mapping[str, str]) -> dict[str, Any]:
    """Only what the agent changed, so an untouched field never overwrites anyone."""
    changes: dict[str, Any] = {}
    if chosen["status"] != shown["status"]:
        changes["status"] = CaseStatus(chosen["status"])
    if chosen["priority"] != shown["priority"]:
        changes["priority"] = Priority(chosen["priority"])
    if chosen["assignee"] != shown["assignee"]:
        changes["assignee_id"] = int(chosen["assignee"]) if chosen["assignee"].isdigit() else None
    if chosen["team"] != shown["team"]:
        changes["team_id"] = int(chosen["team"]) if chosen["team"].isdigit() else None
    if chosen["tags"] != shown["tags"]:
        changes["tags"] = [t for t in chosen["tags"].replace(",", " ").split() if t]
    return changes


def attempted(changes: Mapping[str, Any]) -> dict[str, str]:
    """The changes as the form shows them again after a refusal."""
    return {k: str(v.value if hasattr(v, "value") else v) for k, v in changes.items()}


def grant_basis(basis: str) -> dict[str, int] | None:
    """The facts' versions the offer was planned on, as the page sent them back."""
    try:
        plan_basis = json.loads(basis) if basis else None
    except ValueError as exc:
        raise ValidationFailed("the offer's basis is damaged; reload the page") from exc
    if plan_basis is not None and not (
        isinstance(plan_basis, dict) and all(isinstance(v, int) for v in plan_basis.values())
    ):
        raise ValidationFailed("the offer's basis is damaged; reload the page")
    return plan_basis


@dataclass(frozen=True)
class GrantRequest:
    remedies: str
    idempotency_key: str
    basis: dict[str, int] | None
    tell_now: bool


def grant_from_page(
    uow: Callable[[], ConsoleUnit],
    actor: Actor,
    clock: Callable[[], datetime],
    case_id: int,
    request: GrantRequest,
    notice_minutes: int,
) -> str:
    """Grant the chosen offer and name the notice the page shows after it."""
    # The agent usually replies right after granting: one message, not two a minute apart.
    notice_delay = None if request.tell_now else timedelta(minutes=notice_minutes)

    def attempt() -> grants.GrantOutcome:
        return grants.grant_on_case(
            uow(),
            actor,
            clock(),
            case_id,
            [r for r in request.remedies.split(",") if r],
            idempotency_key=request.idempotency_key,
            basis=request.basis,
            notice_delay=notice_delay,
        )

    try:
        outcome = attempt()
    except DomainError as exc:
        # Two clicks racing on one key: the loser hits the unique key and, tried again,
        # finds the winner's grant and replays it.
        if exc.code is not ErrorCode.CONFLICT:
            raise
        outcome = attempt()
    if outcome.grant.status.value == "pending_approval":
        return "approval_requested"
    return "granted" if request.tell_now else "granted_next_reply"


def new_agent_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError as exc:
        raise ValidationFailed("choose a role", details={"field": "role"}) from exc


def token_expiry(expires: str, now: datetime) -> datetime | None:
    """The start of the chosen day, in the desk clock's zone; none chosen: never."""
    if not expires:
        return None
    try:
        day = datetime.fromisoformat(expires).date()
    except ValueError as exc:
        raise ValidationFailed("expiry is a date", details={"field": "expires"}) from exc
    return datetime.combine(day, time(), tzinfo=now.tzinfo)


def queue_query(
    view: str,
    status: Sequence[str],
    tag: str | None,
    q: str | None,
    team: str | None,
    sort: str | None = None,
    narrow: Mapping[str, str] | None = None,
) -> QueueQuery:
    """A queue as its page's filters name it (`team` an id, or `none`), with a report's
    (`narrow`, a figure's drill-down); an unknown status, channel or priority is refused, not
    ignored."""
    team_id, no_team = id_or_none(team, "team")
    try:
        statuses = tuple(CaseStatus(s) for s in status if s)
    except ValueError as exc:
        raise ValidationFailed(f"unknown status in {status}", details={"field": "status"}) from exc
    return QueueQuery(
        view=view,
        statuses=statuses,
        tag=(tag or "").strip().lower() or None,
        text=(q or "").strip() or None,
        team_id=team_id,
        no_team=no_team,
        sort=sort or "updated",
        **queue_narrowing(narrow or {}),
    )


def queue_query_of(params: Mapping[str, str]) -> QueueQuery:
    """The queue a page's query string named (the one a bulk action returns to)."""
    return queue_query(
        params.get("view", "mine"),
        [params["status"]] if params.get("status") else [],
        params.get("tag"),
        params.get("q"),
        params.get("team"),
        params.get("sort"),
        {k: v for k, v in params.items() if k in NARROWING_KEYS},
    )


def bulk_selection(values: Sequence[str]) -> list[tuple[int, int]]:
    """The selected cases as the page drew them: `id:version` each."""
    items = []
    for value in values:
        case_id, _, version = value.partition(":")
        if not (case_id.isdigit() and version.isdigit()):
            raise ValidationFailed("a selected case is not one this page drew")
        items.append((int(case_id), int(version)))
    return items


def article_changes(fields: Mapping[str, str]) -> dict[str, Any]:
    """An article as the editor sent it; kind, status and visibility come from its lists."""
    try:
        return {
            "title": fields["title"],
            "body": fields["body"],
            "internal_notes": fields["internal_notes"],
            "kind": ArticleKind(fields["kind"]),
            "status": ArticleStatus(fields["status"]),
            "visibility": Visibility(fields["visibility"]),
            "tags": [t for t in fields["tags"].replace(",", " ").split() if t],
        }
    except ValueError as exc:
        raise ValidationFailed("choose a kind, a status and a visibility from the lists") from exc


def article_version(version: str) -> int:
    if not version.isdigit():
        raise ValidationFailed("the form lacks the article version")
    return int(version)
