"""Request and response bodies of email over HTTP: inbound MIME, stored mail, templates."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from caredesk.domain.mail import MailDirection, MailFailure, MailRecord, MailStatus
from caredesk.domain.mail import MailTemplate as Template
from caredesk.services.channels import mail_templates
from caredesk.services.channels.mail_in import IntakeResult, Outcome
from caredesk.web.api.schemas.base import OutOf

LIST_LIMIT_MAX = 200


class IntakeResultOut(OutOf[IntakeResult]):
    """What became of one inbound message."""

    outcome: Outcome
    case_id: int | None
    mail_id: int | None
    detail: str


class MailOut(OutOf[MailRecord]):
    id: int
    direction: MailDirection
    status: MailStatus
    message_id: str
    subject: str
    from_address: str | None
    to: list[str]
    cc: list[str]
    case_id: int | None
    auto_kind: str | None
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class MailFailureOut(BaseModel):
    id: int
    received_at: datetime
    size: int
    error: str
    source: str
    envelope_from: str | None
    envelope_to: list[str]
    raw_url: str

    @classmethod
    def of(cls, failure: MailFailure) -> MailFailureOut:
        assert failure.id is not None
        return cls(
            id=failure.id,
            received_at=failure.received_at,
            size=failure.size,
            error=failure.error,
            source=failure.source,
            envelope_from=failure.envelope_from,
            envelope_to=failure.envelope_to,
            raw_url=f"/api/v1/inbound/failed/{failure.id}/raw",
        )


class TemplateIn(BaseModel):
    subject: str = Field(min_length=1, max_length=mail_templates.MAX_TEMPLATE_CHARS)
    text: str = Field(min_length=1, max_length=mail_templates.MAX_TEMPLATE_CHARS)
    html: str | None = Field(default=None, max_length=mail_templates.MAX_TEMPLATE_CHARS)


class TemplateOut(BaseModel):
    name: str
    subject: str
    text: str
    html: str | None
    edited: bool
    version: int
    updated_at: datetime | None
    updated_by: str | None

    @classmethod
    def of(cls, template: Template) -> TemplateOut:
        return cls(
            name=template.name,
            subject=template.subject,
            text=template.text,
            html=template.html,
            edited=template.version > 0,
            version=template.version,
            updated_at=template.updated_at,
            updated_by=template.updated_by,
        )
