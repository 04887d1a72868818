"""Cases and their messages: the status machine and what may change on a case."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from caredesk.domain.errors import InvalidTransition, ValidationFailed


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


class MessageKind(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    NOTE = "note"


CustomValue = str | int | float | bool | None
_TAG = re.compile(r"^[a-z0-9][a-z0-9_\-:.]{0,63}$")


def normalise_tags(tags: list[str]) -> list[str]:
    cleaned = sorted({t.strip().lower() for t in tags if t.strip()})
    for tag in cleaned:
        if not _TAG.match(tag):
            raise ValidationFailed(
                f"tag {tag!r} must be 1-64 characters of a-z, 0-9, _ - : .",
                details={"field": "tags"},
            )
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
    version: int = 1

    def __post_init__(self) -> None:
        self.subject = self.subject.strip()
        if not self.subject:
            raise ValidationFailed("a case needs a subject", details={"field": "subject"})
        if len(self.subject) > 500:
            raise ValidationFailed(
                "subject is longer than 500 characters", details={"field": "subject"}
            )
        self.tags = normalise_tags(self.tags)

    def snapshot(self) -> dict[str, Any]:
        """The fields an audit event records before and after a change."""
        return {
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

    def change_status(self, new: CaseStatus, now: datetime) -> None:
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

    def receive_message(self, message: Message, now: datetime) -> None:
        """Keep the status truthful when a message lands on the case."""
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
