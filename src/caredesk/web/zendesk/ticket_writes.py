"""Ticket writes: create and update a ticket, upload a file for a comment.

The requests are read in web/zendesk/requests.py and carried out by the ticket service
(services/zendesk/tickets.py), one transaction each. Creating a ticket honours
`Idempotency-Key` as creating a case on /api/v1 does: a retried create makes one case."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from caredesk.domain.cases import Case, Message
from caredesk.services.cases import cases
from caredesk.services.zendesk import tickets
from caredesk.services.zendesk.ports import Upload, UserRef
from caredesk.web.idempotency import IdempotentRoute
from caredesk.web.uploads import takes_files, takes_raw_file
from caredesk.web.zendesk import serializers as out
from caredesk.web.zendesk.calls import Call, ZendeskCall, answer
from caredesk.web.zendesk.errors import ZendeskRoute
from caredesk.web.zendesk.requests import TicketRequest
from caredesk.web.zendesk.tickets import _case_id

UPLOADS_PATH = "/api/v2/uploads.json"


class WriteRoute(IdempotentRoute, ZendeskRoute):
    """An `Idempotency-Key` around a route whose refusals are already Zendesk's: a refusal
    is answered, and forgotten, as any other answer that is not a success."""


router = APIRouter(route_class=WriteRoute)


def _people(case: Case, write: tickets.TicketWrite, author: UserRef | None) -> list[UserRef]:
    people = [UserRef.customer(case.customer_id), author]
    people += [UserRef.agent(case.assignee_id)] if case.assignee_id else []
    for entry in write.audit:
        for side in (entry.before or {}, entry.after or {}):
            assignee = side.get("assignee_id")
            people += [UserRef.agent(assignee)] if isinstance(assignee, int) else []
    return [p for p in people if p is not None]


def _written(
    call: ZendeskCall, write: tickets.TicketWrite, description: str | None
) -> dict[str, Any]:
    """Zendesk's answer to a write: the ticket, and the audit of what this request did."""
    case = write.case
    assert case.id is not None
    author = UserRef.agent(call.actor.agent_id) if call.actor.agent_id is not None else None
    ids = call.user_ids(_people(case, write, author))
    added = _comment(call, write.message, case, ids)
    return {
        "ticket": out.ticket(case, ids, call.base, description=description),
        "audit": out.audit(case.id, write.audit, ids, author, added),
    }


def _comment(
    call: ZendeskCall, message: Message | None, case: Case, ids: out.UserIds
) -> dict[str, Any] | None:
    return out.comment(message, ids, call.base, case.channel) if message is not None else None


@router.post("/tickets.json", status_code=201)
def create_ticket(call: Call, body: TicketRequest) -> JSONResponse:
    sent = body.ticket
    formats = call.container.formats
    comment = sent.comment.comment(formats) if sent.comment else tickets.Comment(body="")
    write = call.run(
        tickets.create_ticket,
        requester=sent.requester_of(),
        comment=comment,
        fields=sent.fields(),
        limits=call.container.attachment_limits,
    )
    return answer(_written(call, write, comment.body), 201)


@router.put("/tickets/{ticket_id}.json")
def update_ticket(call: Call, ticket_id: int, body: TicketRequest) -> JSONResponse:
    sent = body.ticket
    write = call.run(
        tickets.update_ticket,
        _case_id(ticket_id),
        fields=sent.fields(),
        comment=sent.comment.comment(call.container.formats) if sent.comment else None,
        limits=call.container.attachment_limits,
    )
    first = call.read(cases.get_case, ticket_id).messages[:1]
    return answer(_written(call, write, first[0].body if first else None))


def _upload(call: ZendeskCall, sent: Upload, token: str) -> dict[str, Any]:
    attachment = out.attachment(sent.attachment, call.base)
    return {"upload": {"token": token, "attachment": attachment, "attachments": [attachment]}}


@router.post(UPLOADS_PATH.removeprefix("/api/v2"), status_code=201)
@takes_raw_file(UPLOADS_PATH)
@takes_files
async def upload(
    call: Call, request: Request, filename: Annotated[str, Query(max_length=255)] = ""
) -> JSONResponse:
    content = await request.body()
    content_type = request.headers.get("content-type") or "application/octet-stream"
    sent = await run_in_threadpool(
        call.run,
        tickets.upload,
        filename=filename,
        content_type=content_type,
        content=content,
        limits=call.container.attachment_limits,
    )
    return answer(_upload(call, sent, sent.token), 201)
