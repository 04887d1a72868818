"""Case use cases: open a case, talk on it, move it through its statuses, read its trail."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.attachments import AttachmentLimits
from caredesk.domain.audit import AuditEvent
from caredesk.domain.cases import (
    Attachment,
    Case,
    CaseStatus,
    Channel,
    CustomValue,
    Message,
    MessageKind,
    Priority,
)
from caredesk.domain.errors import (
    NotFound,
    ValidationFailed,
    check_version,
    must_exist,
)
from caredesk.services.access.staff import active_agent, check_team
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.cases.unit import CasesUnit
from caredesk.services.core.commands import command
from caredesk.services.core.ports import Page
from caredesk.services.core.reads import read, read_one
from caredesk.services.core.updates import Changes, Update, copy_given, update_command
from caredesk.services.lifecycle import lifecycle
from caredesk.services.sla.sla import CaseSla, case_sla_in


@dataclass(frozen=True, slots=True)
class NewAttachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class CaseView:
    case: Case
    messages: list[Message]
    # The case's SLA as the command left it, when the caller asked for it (`with_sla`).
    sla: CaseSla | None = None


def _check_refs(
    uow: CasesUnit,
    *,
    customer_id: str | None = None,
    assignee_id: int | None = None,
    team_id: int | None = None,
    order_ids: list[str] | None = None,
) -> None:
    if customer_id is not None and uow.customers.get(customer_id) is None:
        raise NotFound("customer", customer_id)
    if assignee_id is not None:
        active_agent(uow, assignee_id)
    if team_id is not None:
        check_team(uow, team_id)
    for order_id in order_ids or []:
        order = must_exist(uow.orders.get(order_id), "order", order_id)
        if customer_id is not None and order.customer_id != customer_id:
            raise ValidationFailed(
                f"order {order_id} belongs to another customer",
                details={"field": "order_ids", "order_id": order_id},
            )


def store_attachments(
    uow: CasesUnit, attachments: list[NewAttachment], limits: AttachmentLimits
) -> list[Attachment]:
    # Every limit is checked before the first file is stored: a refusal writes nothing.
    limits.check([(item.filename, len(item.content)) for item in attachments])
    stored = []
    for item in attachments:
        digest = uow.blobs.put(item.content)
        stored.append(
            Attachment(
                sha256=digest,
                filename=item.filename,
                content_type=item.content_type,
                size=len(item.content),
            )
        )
    return stored


@command
def create_case(
    uow: CasesUnit,
    actor: Actor,
    now: datetime,
    *,
    customer_id: str,
    subject: str,
    body: str | None = None,
    channel: Channel = Channel.API,
    priority: Priority = Priority.NORMAL,
    assignee_id: int | None = None,
    team_id: int | None = None,
    tags: list[str] | None = None,
    order_ids: list[str] | None = None,
    custom_fields: dict[str, CustomValue] | None = None,
    attachments: list[NewAttachment] | None = None,
    attachment_limits: AttachmentLimits = AttachmentLimits(),
    with_sla: bool = False,
    external_id: str | None = None,
) -> CaseView:
    """Open a case; `body`, when given, is the customer's first message.

    Triage, SLA clocks and the audit follow from the case's events, in this transaction.
    With `with_sla`, the view carries the clocks they set, as this unit of work wrote them.
    """
    actor.require(Permission.WRITE_CASES)
    with uow:
        case = Case(
            id=None,
            subject=subject,
            customer_id=customer_id,
            created_at=now,
            updated_at=now,
            channel=channel,
            priority=priority,
            assignee_id=assignee_id,
            team_id=team_id,
            tags=list(tags or []),
            order_ids=list(dict.fromkeys(order_ids or [])),
            custom_fields=dict(custom_fields or {}),
            external_id=external_id,
        )
        said = body is not None and bool(body.strip())
        stored = store_attachments(uow, attachments or [], attachment_limits) if said else []
        first = opened_case(uow, actor, now, case, body=body, attachments=stored)
        uow.commit()
        assert case.id is not None
        # From what the unit kept of its own writes, not from the database again.
        sla = case_sla_in(uow, case.id, now) if with_sla else None
        return CaseView(case, [first] if first is not None else [], sla)


def opened_case(
    uow: CasesUnit,
    actor: Actor,
    now: datetime,
    case: Case,
    *,
    body: str | None,
    attachments: list[Attachment],
    note: bool = False,
    status: CaseStatus | None = None,
) -> Message | None:
    """Add a new case to this unit and open it, with its first message (its files stored):
    the customer's words, or with `note` the acting agent's internal note. With `status`,
    the case moves to it as it opens. The caller commits: nobody sees the case in between."""
    _check_refs(uow, customer_id=case.customer_id, order_ids=case.order_ids)
    _check_refs(uow, assignee_id=case.assignee_id, team_id=case.team_id)
    uow.cases.add(case)
    said = body is not None and bool(body.strip())
    first = None
    if said and not note:
        assert body is not None
        first = _first_message(uow, case, now, body, attachments)
    # The first message comes with the case: it opens the case, it is not a reply to it.
    case.opened(actor, now, first)
    if said and note:
        assert body is not None
        first = written_message(uow, actor, now, case, MessageKind.NOTE, body, attachments)
    if status is not None:
        case.set_status(status, now, actor)
    if note or status is not None:
        uow.cases.save(case)
    return first


def _first_message(
    uow: CasesUnit, case: Case, now: datetime, body: str, attachments: list[Attachment]
) -> Message:
    """The customer's words the case opens with, with their stored attachments."""
    assert case.id is not None
    message = Message(
        id=None,
        case_id=case.id,
        kind=MessageKind.INBOUND,
        body=body,
        created_at=now,
        author_customer_id=case.customer_id,
        attachments=attachments,
    )
    uow.cases.add_message(message)
    return message


def get_case(uow: CasesUnit, actor: Actor, case_id: int) -> CaseView:
    actor.require(Permission.READ)
    with uow:
        case = _load(uow, actor, case_id)
        return CaseView(case, uow.cases.messages(case_id))


def _load(uow: CasesUnit, actor: Actor, case_id: int) -> Case:
    return _reachable(uow.cases.get(case_id), actor, case_id)


def _reachable(case: Case | None, actor: Actor, case_id: int) -> Case:
    """The case, if the actor may reach its customer; to anyone else it does not exist."""
    if case is None or not actor.reaches(case.customer_id):
        raise NotFound("case", case_id)
    return case


def load_for_change(
    uow: CasesUnit, actor: Actor, case_id: int, expected_version: int | None
) -> Case:
    """The case to change, held until this change commits.

    Two replies at once queue on the case instead of meeting at its save: without a version
    from the client, neither must fail; with one, the version is compared with what the
    change before it left.
    """
    case = _reachable(uow.cases.get_for_change(case_id), actor, case_id)
    check_version("case", case_id, case.version, expected_version)
    return case


def changed_case(uow: CasesUnit, actor: Actor, now: datetime, case: Case, changes: Changes) -> Case:
    """A partial update; `changes` holds only the fields the caller sent."""
    _check_refs(
        uow,
        customer_id=case.customer_id if "order_ids" in changes else None,
        assignee_id=changes.get("assignee_id"),
        team_id=changes.get("team_id"),
        order_ids=changes.get("order_ids"),
    )
    if "status" in changes:
        # The same line in the trail (and the same webhook) as a status moved on its own,
        # whichever door or form moved it; the other fields are the edit's.
        case.set_status(CaseStatus(changes["status"]), now, actor)
    before = case.snapshot()
    if "subject" in changes:
        subject = str(changes["subject"]).strip()
        if not subject:
            raise ValidationFailed("a case needs a subject", details={"field": "subject"})
        case.subject = subject
    if "priority" in changes:
        case.priority = Priority(changes["priority"])
    copy_given(case, changes, ("assignee_id", "team_id"))
    if "tags" in changes:
        case.set_tags(changes["tags"])
    if "order_ids" in changes:
        case.order_ids = list(dict.fromkeys(changes["order_ids"]))
    if "custom_fields" in changes:
        case.custom_fields = dict(changes["custom_fields"])
    if "external_id" in changes:
        case.set_external_id(changes["external_id"])
    case.updated_at = now
    case.record_change(actor, now, before, "case.updated")
    uow.cases.save(case)
    return case


update_case: Update[CasesUnit, int, Case] = update_command(
    Permission.WRITE_CASES, load_for_change, changed_case
)


@command
def change_status(
    uow: CasesUnit,
    actor: Actor,
    now: datetime,
    case_id: int,
    status: CaseStatus,
    *,
    expected_version: int | None = None,
) -> Case:
    actor.require(Permission.WRITE_CASES)
    with uow:
        case = load_for_change(uow, actor, case_id, expected_version)
        case.set_status(status, now, actor)
        uow.cases.save(case)
        uow.commit()
        return case


@command
def assign_case(
    uow: CasesUnit,
    actor: Actor,
    now: datetime,
    case_id: int,
    *,
    assignee_id: int | None,
    team_id: int | None = None,
    expected_version: int | None = None,
) -> Case:
    actor.require(Permission.WRITE_CASES)
    with uow:
        case = load_for_change(uow, actor, case_id, expected_version)
        _check_refs(uow, assignee_id=assignee_id, team_id=team_id)
        before = case.snapshot()
        case.assignee_id = assignee_id
        if team_id is not None:
            case.team_id = team_id
        if case.status is CaseStatus.NEW and assignee_id is not None:
            case.change_status(CaseStatus.OPEN, now)
        case.updated_at = now
        case.record_change(actor, now, before, "case.assigned")
        uow.cases.save(case)
        uow.commit()
        return case


@command
def add_message(
    uow: CasesUnit,
    actor: Actor,
    now: datetime,
    case_id: int,
    *,
    kind: MessageKind,
    body: str,
    attachments: list[NewAttachment] | None = None,
    attachment_limits: AttachmentLimits = AttachmentLimits(),
    lifecycle_options: lifecycle.LifecycleOptions | None = None,
    expected_version: int | None = None,
    then_status: CaseStatus | None = None,
) -> Message:
    """Add a reply, an inbound message recorded by an agent, or an internal note.

    With `lifecycle_options`, the message goes to the case it belongs on (the live case of
    a merged one; a new follow-up for a reply after the grace period). With `then_status`
    (an agent's "send and mark solved"), the case moves on in the same transaction; with
    `expected_version`, a case someone else changed since takes nothing. Triage, SLA clocks,
    outbound mail, repeat asks and commitments follow from the message's event.
    """
    actor.require(Permission.WRITE_CASES)
    if not body.strip() and not attachments:
        raise ValidationFailed("a message needs a body or an attachment", details={"field": "body"})
    with uow:
        case = load_for_change(uow, actor, case_id, expected_version)
        if lifecycle_options is not None:
            case = lifecycle.route_message(uow, actor, now, case, kind, lifecycle_options)
        stored = store_attachments(uow, attachments or [], attachment_limits)
        message = written_message(uow, actor, now, case, kind, body, stored)
        if then_status is not None:
            case.set_status(then_status, now, actor)
        uow.cases.save(case)
        uow.commit()
        return message


def written_message(
    uow: CasesUnit,
    actor: Actor,
    now: datetime,
    case: Case,
    kind: MessageKind,
    body: str,
    attachments: list[Attachment],
) -> Message:
    """A message on a case this unit holds for change (`load_for_change`), with its files
    already stored; the caller saves the case and commits."""
    assert case.id is not None
    if kind is MessageKind.OUTBOUND:
        # A grant the agent chose to tell in this reply: the customer reads one message.
        pending = case.take_grant_notice()
        if pending:
            body = f"{body.rstrip()}\n\n{pending}" if body.strip() else pending
    message = Message(
        id=None,
        case_id=case.id,
        kind=kind,
        body=body,
        created_at=now,
        author_agent_id=actor.agent_id if kind is not MessageKind.INBOUND else None,
        author_customer_id=case.customer_id if kind is MessageKind.INBOUND else None,
        attachments=attachments,
    )
    case.receive_message(message, now, actor)
    uow.cases.add_message(message)
    return message


def list_cases(
    uow: CasesUnit, actor: Actor, filters: CaseFilter, limit: int, cursor: str | None
) -> Page[Case]:
    return read(uow, actor, Permission.READ, lambda u: u.cases.find(filters, limit, cursor))


def cases_of(uow: CasesUnit, actor: Actor, case_ids: Collection[int]) -> list[Case]:
    """The cases of these ids the actor may reach, by id; the others are left out."""
    found = read(uow, actor, Permission.READ, lambda u: u.cases.many(case_ids))
    return [c for c in found if actor.reaches(c.customer_id)]


def count_cases(uow: CasesUnit, actor: Actor, filters: CaseFilter) -> int:
    """How many cases `list_cases` would page through with these filters."""
    return read(uow, actor, Permission.READ, lambda u: u.cases.count(filters))


def case_audit_trail(uow: CasesUnit, actor: Actor, case_id: int) -> list[AuditEvent]:
    actor.require(Permission.READ)
    with uow:
        if uow.cases.get(case_id) is None:
            raise NotFound("case", case_id)
        return uow.audit.for_case(case_id)


def get_attachment(uow: CasesUnit, actor: Actor, sha256: str) -> bytes:
    return read_one(
        uow, actor, Permission.READ, lambda u: u.blobs.get(sha256), "attachment", sha256
    )
