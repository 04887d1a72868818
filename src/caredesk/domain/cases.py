"""Cases and their messages: the status machine and what may change on a case."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from caredesk.domain.agents import Actor
from caredesk.domain.audit import AuditEvent
from caredesk.domain.errors import InvalidTransition, ValidationFailed, must_match
from caredesk.domain.events import Changed, Event


class CaseStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on-hold"
    SOLVED = "solved"
    CLOSED = "closed"


# A solved case may be reopened; a closed one is history and never changes status again.
ALLOWED_TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.NEW: frozenset(
        {CaseStatus.OPEN, CaseStatus.PENDING, CaseStatus.ON_HOLD, CaseStatus.SOLVED}
    ),
    CaseStatus.OPEN: frozenset({CaseStatus.PENDING, CaseStatus.ON_HOLD, CaseStatus.SOLVED}),
    CaseStatus.PENDING: frozenset({CaseStatus.OPEN, CaseStatus.ON_HOLD, CaseStatus.SOLVED}),
    CaseStatus.ON_HOLD: frozenset({CaseStatus.OPEN, CaseStatus.PENDING, CaseStatus.SOLVED}),
    CaseStatus.SOLVED: frozenset({CaseStatus.OPEN, CaseStatus.CLOSED}),
    CaseStatus.CLOSED: frozenset(),
}


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Channel(StrEnum):
    EMAIL = "email"
    PORTAL = "portal"
    API = "api"
    PHONE = "phone"
    CHAT = "chat"
    PROACTIVE = "proactive"

    @property
    def answers_by_email(self) -> bool:
        """The customer wrote by email, or the desk wrote to them first: answers are mailed."""
        return self in (Channel.EMAIL, Channel.PROACTIVE)


class MessageKind(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    NOTE = "note"


CustomValue = str | int | float | bool | None
EXTERNAL_ID_MAX = 255
# A grant's message to the customer waiting for the agent's next reply, and since when.
GRANT_NOTICE = "grant_notice"
GRANT_NOTICE_SINCE = "grant_notice_since"
_TAG = re.compile(r"^[a-z0-9][a-z0-9_\-:.]{0,63}$")


def normalise_tags(tags: list[str]) -> list[str]:
    cleaned = sorted({t.strip().lower() for t in tags if t.strip()})
    for tag in cleaned:
        must_match(_TAG, tag, f"tag {tag!r} must be 1-64 characters of a-z, 0-9, _ - : .", "tags")
    return cleaned


@dataclass(slots=True)
class Attachment:
    """A file attached to a message, stored once under the hash of its content."""

    sha256: str
    filename: str
    content_type: str
    size: int


@dataclass(slots=True)
class Message:
    id: int | None
    case_id: int
    kind: MessageKind
    body: str
    created_at: datetime
    author_agent_id: int | None = None
    author_customer_id: str | None = None
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def is_public(self) -> bool:
        return self.kind is not MessageKind.NOTE


@dataclass(slots=True)
class Case:
    id: int | None
    subject: str
    customer_id: str
    created_at: datetime
    updated_at: datetime
    status: CaseStatus = CaseStatus.NEW
    priority: Priority = Priority.NORMAL
    channel: Channel = Channel.API
    assignee_id: int | None = None
    team_id: int | None = None
    tags: list[str] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    custom_fields: dict[str, CustomValue] = field(default_factory=dict)
    solved_at: datetime | None = None
    closed_at: datetime | None = None
    # How the case was resolved: 1 deflected (no remedy), 2 saved the sale, 3 invested.
    service_level: int | None = None
    # The id another system knows the case by (a ticket imported from Zendesk, a CRM's).
    external_id: str | None = None
    version: int = 1
    # What happened to the case in this unit of work, for the handlers (domain/events.py).
    events: list[Event] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.subject = self.subject.strip()
        if not self.subject:
            raise ValidationFailed("a case needs a subject", details={"field": "subject"})
        if len(self.subject) > 500:
            raise ValidationFailed(
                "subject is longer than 500 characters", details={"field": "subject"}
            )
        self.set_external_id(self.external_id)
        self.tags = normalise_tags(self.tags)

    def set_external_id(self, external_id: str | None) -> None:
        if external_id is not None and len(external_id) > EXTERNAL_ID_MAX:
            raise ValidationFailed(
                f"external_id is longer than {EXTERNAL_ID_MAX} characters",
                details={"field": "external_id"},
            )
        self.external_id = external_id

    def snapshot(self) -> dict[str, Any]:
        """The fields an audit event records before and after a change (`external_id` only
        on a case that has or had one)."""
        fields = {
            "subject": self.subject,
            "status": self.status.value,
            "priority": self.priority.value,
            "assignee_id": self.assignee_id,
            "team_id": self.team_id,
            "tags": list(self.tags),
            "order_ids": list(self.order_ids),
            "custom_fields": dict(self.custom_fields),
            "service_level": self.service_level,
        }
        if self.external_id is not None:
            fields["external_id"] = self.external_id
        return fields

    # -- events ------------------------------------------------------------------------------

    def opened(
        self,
        actor: Actor,
        now: datetime,
        message: Message | None = None,
        *,
        by_customer: bool = True,
        audit_after: dict[str, Any] | None = None,
    ) -> None:
        """Record that the case was opened (once it has its id), with its first message.

        `by_customer=False` for a case the desk opens itself (a proactive finding, a split,
        a follow-up whose message comes next): there is nothing of the customer's to triage.
        """
        self.events.append(
            CaseOpened(
                actor=actor,
                at=now,
                case=self,
                message=message,
                by_customer=by_customer,
                after={**self.snapshot(), **(audit_after or {})},
            )
        )

    def record_change(
        self,
        actor: Actor,
        now: datetime,
        before: dict[str, Any],
        action: str = "case.updated",
        *,
        extra: dict[str, Any] | None = None,
        audit_after: dict[str, Any] | None = None,
    ) -> None:
        """Record a change made since `before` (a snapshot), if there is one.

        `extra` adds facts to the trail's field-by-field "after" (the handoff, the link);
        `audit_after` replaces that trail with what the change should say (triage records
        what it found, not only the fields it set). With either, the change is recorded
        even when no field moved.
        """
        after = self.snapshot()
        if after == before and extra is None and audit_after is None:
            return
        self.events.append(
            CaseChanged(
                actor=actor,
                at=now,
                case=self,
                action=action,
                before=before,
                after=after,
                extra=extra or {},
                audit_after=audit_after,
            )
        )

    def set_status(self, new: CaseStatus, now: datetime, actor: Actor) -> None:
        """Move the case to another status as a change of its own (audited, clocks moved)."""
        before = self.snapshot()
        self.change_status(new, now)
        self.record_change(actor, now, before, "case.status_changed")

    def change_status(self, new: CaseStatus, now: datetime) -> None:
        """Move the status as part of a larger change; the caller records that change."""
        if new is self.status:
            return
        if new not in ALLOWED_TRANSITIONS[self.status]:
            allowed = sorted(s.value for s in ALLOWED_TRANSITIONS[self.status])
            raise InvalidTransition(
                f"a {self.status.value} case cannot become {new.value}",
                details={"from": self.status.value, "to": new.value, "allowed": allowed},
            )
        if new is CaseStatus.SOLVED:
            self.solved_at = now
            self.service_level = self.service_level or 1
        elif new is CaseStatus.CLOSED:
            self.closed_at = now
        elif self.status is CaseStatus.SOLVED:
            self.solved_at = None
        self.status = new
        self.updated_at = now

    def record_grant_level(self, level: int) -> None:
        """A grant raises the resolution's service level; nothing lowers it."""
        self.service_level = max(self.service_level or 1, level)

    def defer_grant_notice(self, note: str, now: datetime) -> str:
        """Keep a grant's message to the customer for the agent's next reply.

        Returns the mark of the pending notice (when the first deferred grant was made): the
        job that sends it alone if no reply comes acts only while this mark is still there.
        """
        pending = self.custom_fields.get(GRANT_NOTICE)
        text = f"{pending} {note}" if isinstance(pending, str) and pending else note
        self.custom_fields[GRANT_NOTICE] = text
        since = self.custom_fields.get(GRANT_NOTICE_SINCE)
        if not isinstance(since, str):
            since = now.isoformat()
            self.custom_fields[GRANT_NOTICE_SINCE] = since
        return since

    @property
    def pending_grant_notice(self) -> str | None:
        pending = self.custom_fields.get(GRANT_NOTICE)
        return pending if isinstance(pending, str) and pending else None

    def take_grant_notice(self) -> str | None:
        """The pending grant notice, once: the reply or the job that sends it clears it."""
        pending = self.pending_grant_notice
        self.custom_fields.pop(GRANT_NOTICE, None)
        self.custom_fields.pop(GRANT_NOTICE_SINCE, None)
        return pending

    def receive_message(
        self,
        message: Message,
        now: datetime,
        actor: Actor,
        *,
        audit_after: dict[str, Any] | None = None,
    ) -> None:
        """Take a message: keep the status truthful and record the message as added."""
        before = self.snapshot()
        self._take(message, now)
        self.events.append(
            MessageAdded(
                actor=actor,
                at=now,
                case=self,
                message=message,
                before=before,
                after=self.snapshot(),
                audit_after=audit_after,
            )
        )

    def _take(self, message: Message, now: datetime) -> None:
        if self.status is CaseStatus.CLOSED and message.kind is not MessageKind.NOTE:
            # A closed case is history; agents may still annotate it.
            raise InvalidTransition(
                "a closed case takes no more messages", details={"from": self.status.value}
            )
        if (
            message.kind is MessageKind.INBOUND
            and self.status
            in (
                CaseStatus.PENDING,
                CaseStatus.SOLVED,
            )
        ) or (message.kind is MessageKind.OUTBOUND and self.status is CaseStatus.NEW):
            self.change_status(CaseStatus.OPEN, now)
        self.updated_at = now

    def set_tags(self, tags: list[str]) -> None:
        self.tags = normalise_tags(tags)


# -- what happens to a case ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseEvent(Event):
    # The live aggregate: ids given on insert (the case's, a message's) are read when the
    # event is handled, at commit.
    case: Case

    @property
    def case_id(self) -> int:
        assert self.case.id is not None
        return self.case.id

    def entry(
        self,
        action: str,
        *,
        about: tuple[str, object] | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> AuditEvent:
        """A line of this case's trail, about the case itself unless `about` names another."""
        entity = about or ("case", self.case_id)
        return Changed(
            actor=self.actor,
            at=self.at,
            action=action,
            entity_type=entity[0],
            entity_id=entity[1],
            case_id=self.case_id,
            before=before,
            after=after,
        ).entry()


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseOpened(CaseEvent):
    message: Message | None
    by_customer: bool
    after: dict[str, Any]

    def audit_entries(self) -> list[AuditEvent]:
        return [self.entry("case.created", after=self.after)]


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseStatesEvent(CaseEvent):
    """An event that carries the case's state before and after it; `audit_after`, when
    given, is what its first audit line says in place of the usual facts."""

    before: dict[str, Any]
    after: dict[str, Any]
    audit_after: dict[str, Any] | None = None

    @property
    def status_before(self) -> CaseStatus:
        return CaseStatus(self.before["status"])


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageAdded(CaseStatesEvent):
    message: Message

    def audit_entries(self) -> list[AuditEvent]:
        message = self.message
        entries = [
            self.entry(
                f"message.{message.kind.value}",
                about=("message", message.id),
                after=self.audit_after
                or {"kind": message.kind.value, "attachments": len(message.attachments)},
            )
        ]
        if self.after != self.before:
            entries.append(self.entry("case.status_changed", before=self.before, after=self.after))
        return entries


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseChanged(CaseStatesEvent):
    action: str
    extra: dict[str, Any]

    @property
    def solved_now(self) -> bool:
        solved = CaseStatus.SOLVED.value
        return bool(self.after["status"] == solved and self.before["status"] != solved)

    def audit_entries(self) -> list[AuditEvent]:
        if self.audit_after is not None:
            before, after = None, self.audit_after
        else:
            before, after = self.before, {**self.after, **self.extra}
        return [self.entry(self.action, before=before, after=after)]
