"""Request and response bodies of email over HTTP: inbound MIME, stored mail, templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

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


class MailFailureOut(OutOf[MailFailure]):
    id: int
    received_at: datetime
    size: int
    error: str
    source: str
    envelope_from: str | None
    envelope_to: list[str]
    raw_url: str

    @classmethod
    def of(cls, source: MailFailure, **converted: Any) -> Self:
        raw_url = f"/api/v1/inbound/failed/{source.id}/raw"
        return super().of(source, raw_url=raw_url, **converted)


class TemplateIn(BaseModel):
    subject: str = Field(min_length=1, max_length=mail_templates.MAX_TEMPLATE_CHARS)
    text: str = Field(min_length=1, max_length=mail_templates.MAX_TEMPLATE_CHARS)
    html: str | None = Field(default=None, max_length=mail_templates.MAX_TEMPLATE_CHARS)


class TemplateOut(OutOf[Template]):
    name: str
    subject: str
    text: str
    html: str | None
    edited: bool
    version: int
    updated_at: datetime | None
    updated_by: str | None

    @classmethod
    def of(cls, source: Template, **converted: Any) -> Self:
        return super().of(source, edited=source.version > 0, **converted)
