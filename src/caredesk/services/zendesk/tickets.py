"""Zendesk's ticket writes as caredesk's case commands: a ticket created (with its requester,
first comment and status), a ticket updated (its fields and a comment), and a file uploaded
ahead of the comment that takes it.

Each request is one transaction, so a refusal at any step leaves nothing of it behind: the
case, the customer a requester names, the message and the upload tokens it takes commit
together or not at all. The steps are the case commands' own (services/cases), so the
audit trail, events, triage, SLA clocks and outbound mail follow as they do on /api/v1."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.attachments import AttachmentLimits
from caredesk.domain.audit import AuditEvent
from caredesk.domain.cases import (
    Attachment,
    Case,
    CaseStatus,
    Channel,
    Message,
    MessageKind,
    Priority,
)
from caredesk.domain.customers import Customer, normalise_email
from caredesk.domain.errors import NotFound, ValidationFailed
from caredesk.services.access.staff import active_agent, check_team
from caredesk.services.cases import cases, customers
from caredesk.services.cases.cases import NewAttachment
from caredesk.services.core.commands import command
from caredesk.services.zendesk.ports import Upload
from caredesk.services.zendesk.unit import TicketsUnit

# Zendesk's upload tokens are good for a while after the upload, not for ever: a file
# nobody attached is not kept waiting to be named.
UPLOAD_LIFETIME = timedelta(minutes=60)
UPLOAD_TOKEN_BYTES = 24


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment sent with a ticket: public (a reply, or the customer's words on a new
    ticket) or an internal note, with the tokens of the files uploaded for it."""

    body: str
    public: bool = True
    uploads: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Requester:
    """Whom a new ticket is for: a Zendesk user id, or a customer's email (and name)."""

    user_id: int | None = None
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class TicketFields:
    """The fields of a ticket a request sets; an absent one (None, or not in `custom_fields`)
    is left as it is. `assignee_id` is a Zendesk user id, `group_id` a team's id."""

    subject: str | None = None
    status: CaseStatus | None = None
    priority: Priority | None = None
    tags: list[str] | None = None
    assignee_id: int | None = None
    group_id: int | None = None
    external_id: str | None = None
    custom_fields: Mapping[str, Any] = field(default_factory=dict)
    # Fields sent as null (Zendesk's way to clear one): assignee_id, group_id, external_id.
    cleared: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class TicketWrite:
    """What one request did: the case as it left it, the message it added (if any) and the
    lines it wrote to the case's audit trail."""

    case: Case
    message: Message | None
    audit: list[AuditEvent]


def _invalid(field_name: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details={"field": field_name})


def _agent_of(uow: TicketsUnit, user_id: int) -> int:
    person = uow.zendesk_users.people([user_id]).get(user_id)
    if person is None or person.agent_id is None:
        raise _invalid("assignee_id", f"user {user_id} is not an agent")
    try:
        active_agent(uow, person.agent_id)
    except NotFound as exc:
        raise _invalid("assignee_id", f"user {user_id} is not an active agent") from exc
    return person.agent_id


def _team(uow: TicketsUnit, team_id: int) -> int:
    try:
        check_team(uow, team_id)
    except NotFound as exc:
        raise _invalid("group_id", f"group {team_id} does not exist") from exc
    return team_id


def _changes(uow: TicketsUnit, fields: TicketFields) -> dict[str, Any]:
    """The case's update (services/cases `changed_case`) that these fields ask for."""
    changes: dict[str, Any] = {}
    if fields.subject is not None:
        changes["subject"] = fields.subject
    if fields.status is not None:
        changes["status"] = fields.status
    if fields.priority is not None:
        changes["priority"] = fields.priority
    if fields.tags is not None:
        changes["tags"] = fields.tags
    if fields.assignee_id is not None:
        changes["assignee_id"] = _agent_of(uow, fields.assignee_id)
    if fields.group_id is not None:
        changes["team_id"] = _team(uow, fields.group_id)
    if fields.external_id is not None:
        changes["external_id"] = fields.external_id
    for name in fields.cleared & {"assignee_id", "external_id"}:
        changes[name] = None
    if "group_id" in fields.cleared:
        changes["team_id"] = None
    return changes


def _attachments(
    uow: TicketsUnit, actor: Actor, now: datetime, tokens: tuple[str, ...], limits: AttachmentLimits
) -> list[Attachment]:
    """The files of these upload tokens, taken for good: a token is used once, by the
    caller that uploaded it, before it expires."""
    if not tokens:
        return []
    taken = uow.zendesk_uploads.take(tokens, actor.ref, now)
    unknown = [t for t in dict.fromkeys(tokens) if t not in taken]
    if unknown:
        raise _invalid("uploads", f"no upload of yours waits under token {unknown[0]!r}")
    files = [taken[t].attachment for t in dict.fromkeys(tokens)]
    limits.check([(item.filename, item.size) for item in files])
    return files


def _trail_since(uow: TicketsUnit, case_id: int, last_id: int) -> list[AuditEvent]:
    """The case's audit lines written after line `last_id`, this request's, once committed
    (the case is held for the change: no other change of it writes in between)."""
    return [e for e in uow.audit.for_case(case_id) if (e.id or 0) > last_id]


def _customer_for(uow: TicketsUnit, actor: Actor, now: datetime, requester: Requester) -> str:
    """The customer a new ticket is for: the one a user id names, the one with the email,
    or a new customer with that email."""
    if requester.user_id is not None:
        person = uow.zendesk_users.people([requester.user_id]).get(requester.user_id)
        if person is None or person.customer_id is None:
            raise _invalid("requester", f"user {requester.user_id} is not an end user")
        return person.customer_id
    if not requester.email:
        raise _invalid("requester", "a ticket needs a requester: requester_id or requester.email")
    email = normalise_email(requester.email)
    owner = uow.customers.email_owner(email)
    if owner is not None:
        return owner
    actor.require(Permission.WRITE_CUSTOMERS)
    name = (requester.name or "").strip() or email.split("@")[0]
    first, _, last = name.partition(" ")
    customer = Customer(
        id=customers.new_customer_id(),
        first_name=first,
        last_name=last.strip(),
        emails=[email],
        created_at=now,
        updated_at=now,
    )
    customers.added_customer(uow, actor, now, customer)
    return customer.id


@command
def create_ticket(
    uow: TicketsUnit,
    actor: Actor,
    now: datetime,
    *,
    requester: Requester,
    comment: Comment,
    fields: TicketFields,
    limits: AttachmentLimits,
) -> TicketWrite:
    """Open a case for a Zendesk ticket. A public first comment is the requester's words,
    as a case's first message always is; a private one is the calling agent's note."""
    actor.require(Permission.WRITE_CASES)
    subject = (fields.subject or "").strip()
    if not subject:
        raise _invalid("subject", "a ticket needs a subject")
    if not comment.body.strip():
        raise _invalid("comment", "a ticket needs a comment with a body")
    with uow:
        changes = _changes(uow, fields)
        case = Case(
            id=None,
            subject=subject,
            customer_id=_customer_for(uow, actor, now, requester),
            created_at=now,
            updated_at=now,
            channel=Channel.API,
            priority=fields.priority or Priority.NORMAL,
            assignee_id=changes.get("assignee_id"),
            team_id=changes.get("team_id"),
            tags=list(fields.tags or []),
            custom_fields=dict(fields.custom_fields),
            external_id=fields.external_id,
        )
        files = _attachments(uow, actor, now, comment.uploads, limits)
        first = cases.opened_case(
            uow,
            actor,
            now,
            case,
            body=comment.body,
            attachments=files,
            note=not comment.public,
            # As on Zendesk, a new ticket given an assignee is open unless told otherwise.
            status=fields.status or (CaseStatus.OPEN if case.assignee_id else None),
        )
        uow.commit()
        assert case.id is not None
        return TicketWrite(case, first, _trail_since(uow, case.id, 0))


@command
def update_ticket(
    uow: TicketsUnit,
    actor: Actor,
    now: datetime,
    case_id: int,
    *,
    fields: TicketFields,
    comment: Comment | None,
    limits: AttachmentLimits,
) -> TicketWrite:
    """Change a case's fields and add a comment to it (a public one is the agent's reply,
    mailed to the customer; a private one a note), in one transaction."""
    actor.require(Permission.WRITE_CASES)
    if comment is not None and not comment.body.strip() and not comment.uploads:
        raise _invalid("comment", "a comment needs a body or an upload")
    with uow:
        case = cases.load_for_change(uow, actor, case_id, None)
        last = max((e.id or 0 for e in uow.audit.for_case(case_id)), default=0)
        changes = _changes(uow, fields)
        message = None
        if comment is not None:
            # The comment first, then the fields: a reply sent with `status: solved` is
            # answered and then solved, as an agent's "send and mark solved" is.
            kind = MessageKind.OUTBOUND if comment.public else MessageKind.NOTE
            files = _attachments(uow, actor, now, comment.uploads, limits)
            message = cases.written_message(uow, actor, now, case, kind, comment.body, files)
            uow.cases.save(case)
        if changes.get("assignee_id") and case.status is CaseStatus.NEW:
            changes.setdefault("status", CaseStatus.OPEN)
        if fields.custom_fields:
            # Zendesk changes the custom fields a request names and keeps the others.
            changes["custom_fields"] = {**case.custom_fields, **fields.custom_fields}
        if changes:
            cases.changed_case(uow, actor, now, case, changes)
        uow.commit()
        return TicketWrite(case, message, _trail_since(uow, case_id, last))


@command
def upload(
    uow: TicketsUnit,
    actor: Actor,
    now: datetime,
    *,
    filename: str,
    content_type: str,
    content: bytes,
    limits: AttachmentLimits,
) -> Upload:
    """Store a file for a later comment, under limits a message's files meet; the token
    that names it goes to its uploader alone."""
    actor.require(Permission.WRITE_CASES)
    name = filename.replace("\x00", "").strip()[:255]
    if not name:
        raise _invalid("filename", "an upload needs a filename")
    with uow:
        new = NewAttachment(name, content_type[:255] or "application/octet-stream", content)
        [stored] = cases.store_attachments(uow, [new], limits)
        sent = Upload(
            token=secrets.token_urlsafe(UPLOAD_TOKEN_BYTES),
            attachment=stored,
            owner=actor.ref,
            created_at=now,
            expires_at=now + UPLOAD_LIFETIME,
        )
        uow.zendesk_uploads.add(sent)
        uow.commit()
        return sent
