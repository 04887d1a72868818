"""Cases, their messages, attachments and audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import (
    Field,
    StringConstraints,
)

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
from caredesk.web.api.schemas.base import OutOf, SmallId, Strict, Text
from caredesk.web.api.schemas.sla import CaseSlaOut

CustomFields = dict[
    Annotated[str, StringConstraints(min_length=1, max_length=64)],
    str | int | float | bool | None,
]


class AttachmentIn(Strict):
    filename: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    content_type: str = Field(default="application/octet-stream", max_length=120)
    content_base64: str = Field(description="The file's bytes, base64-encoded.")


class AttachmentOut(OutOf[Attachment]):
    sha256: str
    filename: str
    content_type: str
    size: int
    url: str

    @classmethod
    def of(cls, source: Attachment, **converted: Any) -> Self:
        return super().of(source, url=f"/api/v1/attachments/{source.sha256}", **converted)


class CaseIn(Strict):
    customer_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    body: Text | None = Field(default=None, description="The customer's first message.")
    channel: Channel = Channel.API
    priority: Priority = Priority.NORMAL
    assignee_id: SmallId | None = None
    team_id: SmallId | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    order_ids: list[str] = Field(default_factory=list, max_length=50)
    custom_fields: CustomFields = Field(default_factory=dict)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class CasePatch(Strict):
    version: int | None = Field(default=None, description="The version you read (or If-Match).")
    subject: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
        | None
    ) = None
    status: CaseStatus | None = None
    priority: Priority | None = None
    assignee_id: SmallId | None = None
    team_id: SmallId | None = None
    tags: list[str] | None = Field(default=None, max_length=50)
    order_ids: list[str] | None = Field(default=None, max_length=50)
    custom_fields: CustomFields | None = None


class StatusIn(Strict):
    status: CaseStatus
    version: int | None = None


class AssignmentIn(Strict):
    assignee_id: SmallId | None
    team_id: SmallId | None = None
    version: int | None = None


class MessageIn(Strict):
    kind: MessageKind = MessageKind.OUTBOUND
    body: Text = ""
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class NoteIn(Strict):
    body: Text = ""
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class MessageOut(OutOf[Message]):
    id: int
    case_id: int
    kind: MessageKind
    body: str
    created_at: datetime
    author_agent_id: int | None
    author_customer_id: str | None
    attachments: list[AttachmentOut]

    @classmethod
    def of(cls, source: Message, **converted: Any) -> Self:
        attachments = [AttachmentOut.of(a) for a in source.attachments]
        return super().of(source, attachments=attachments, **converted)


class CaseOut(OutOf[Case]):
    id: int
    subject: str
    customer_id: str
    status: CaseStatus
    priority: Priority
    channel: Channel
    assignee_id: int | None
    team_id: int | None
    tags: list[str]
    order_ids: list[str]
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    solved_at: datetime | None
    closed_at: datetime | None
    service_level: int | None = Field(
        default=None, description="1 deflected, 2 saved the sale, 3 invested in the customer."
    )
    version: int
    sla: CaseSlaOut | None = Field(
        default=None, description="The SLA policy and clocks (on a single case's page)."
    )


class CaseDetailOut(CaseOut):
    messages: list[MessageOut]


class AuditEventOut(OutOf[AuditEvent]):
    id: int | None
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    case_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
