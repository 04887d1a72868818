"""Email over HTTP: the inbound MIME webhook, stored mail for admins, and mail templates."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from caredesk.domain.agents import Actor, Role
from caredesk.domain.errors import ErrorCode, Forbidden, RetryLater, ValidationFailed
from caredesk.domain.mail import INBOUND_SCOPE, MailDirection, MailStatus
from caredesk.services.channels import mail_in, mail_templates
from caredesk.services.channels.mail_in import Envelope, Outcome
from caredesk.web.api.common import Call, IdPath
from caredesk.web.api.schemas.mail import (
    LIST_LIMIT_MAX,
    IntakeResultOut,
    MailFailureOut,
    MailOut,
    TemplateIn,
    TemplateOut,
)
from caredesk.web.deps import ContainerDep, ToolActorDep
from caredesk.web.idempotency import IdempotentRoute

router = APIRouter(route_class=IdempotentRoute)


def _may_post_mail(actor: Actor) -> None:
    """Admins, or a token that carries the inbound scope (and may do nothing else)."""
    if actor.tools is not None and INBOUND_SCOPE in actor.tools:
        return
    if actor.role is Role.ADMIN and not actor.scoped:
        return
    raise Forbidden(
        f"posting mail needs an admin or a token with the {INBOUND_SCOPE!r} scope",
        details={"scope": INBOUND_SCOPE},
    )


@router.post(
    "/inbound/email",
    status_code=status.HTTP_202_ACCEPTED,
    tags=["mail"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def inbound_email(
    request: Request,
    actor: ToolActorDep,
    container: ContainerDep,
    mail_from: Annotated[str | None, Query(max_length=320)] = None,
    rcpt_to: Annotated[list[str] | None, Query(max_length=100)] = None,
) -> IntakeResultOut:
    """Deliver one raw RFC 5322 message (the request body), as a mail server would.

    The message is stored once (a second post of the same Message-ID is a `duplicate`),
    threaded onto its case, and never lost: mail that cannot be parsed is kept raw for
    admins (`failed`). A sender over the hourly limit gets 429: post it again later.
    """
    _may_post_mail(actor)
    raw = await request.body()
    if not raw.strip():
        raise ValidationFailed("the body must be the raw message", details={"field": "body"})
    intake = container.mail_intake()
    envelope = Envelope(mail_from=mail_from, rcpt_to=list(rcpt_to or []), source="http")
    result = await run_in_threadpool(intake.deliver, raw, envelope)
    if result.outcome is Outcome.DEFERRED:
        raise _sender_over_limit(container.settings.mail_rate_limit_per_hour)
    return IntakeResultOut.of(result)


def _sender_over_limit(per_hour: int) -> RetryLater:
    # The sender's oldest message of the hour leaves the window within this, on average.
    return RetryLater(
        "too many messages from this sender; post it again later",
        code=ErrorCode.RATE_LIMITED,
        retry_after=math.ceil(3600 / per_hour),
        details={"scope": "sender"},
    )


@router.get("/inbound/failed", tags=["mail"])
def failed_mail(
    call: Call, limit: Annotated[int, Query(ge=1, le=LIST_LIMIT_MAX)] = 50
) -> list[MailFailureOut]:
    """Mail that could not be parsed, newest first (admins)."""
    failures = call.read(mail_in.list_failures, limit=limit)
    return [MailFailureOut.of(f) for f in failures]


@router.get(
    "/inbound/failed/{failure_id}/raw",
    tags=["mail"],
    response_class=Response,
    responses={200: {"content": {"message/rfc822": {}}}},
)
def failed_mail_source(failure_id: IdPath, call: Call) -> Response:
    """The raw source of a message that could not be parsed, byte for byte (admins)."""
    raw = call.read(mail_in.failure_source, failure_id)
    return Response(
        raw,
        media_type="message/rfc822",
        headers={"Content-Disposition": f'attachment; filename="failed-{failure_id}.eml"'},
    )


@router.get("/mail", tags=["mail"])
def stored_mail(
    call: Call,
    direction: MailDirection | None = None,
    mail_status: Annotated[MailStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=LIST_LIMIT_MAX)] = 50,
) -> list[MailOut]:
    """Mail in and out, newest first (admins): e.g. `?status=unfiled` or `?status=failed`."""
    records = call.read(mail_in.list_mail, direction=direction, status=mail_status, limit=limit)
    return [MailOut.of(r) for r in records]


@router.get("/mail/templates", tags=["mail"])
def list_templates(call: Call) -> list[TemplateOut]:
    """Every email template in force: the packaged default or the admin's edit."""
    return [TemplateOut.of(t) for t in call.read(mail_templates.list_templates)]


@router.get("/mail/templates/{name}", tags=["mail"])
def get_template(name: str, call: Call) -> TemplateOut:
    return TemplateOut.of(call.read(mail_templates.get_template, name))


@router.put("/mail/templates/{name}", tags=["mail"])
def edit_template(name: str, body: TemplateIn, call: Call) -> TemplateOut:
    """Replace a template (Jinja2, sandboxed; HTML parts escape what they interpolate)."""
    template = call.run(
        mail_templates.edit_template, name, subject=body.subject, text=body.text, html=body.html
    )
    return TemplateOut.of(template)


@router.delete("/mail/templates/{name}", tags=["mail"])
def reset_template(name: str, call: Call) -> TemplateOut:
    """Drop the edit: the packaged default is in force again."""
    return TemplateOut.of(call.run(mail_templates.reset_template, name))
