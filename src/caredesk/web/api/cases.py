"""Cases: open, list and search, read, edit, talk, assign, move status, audit trail."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Path, Query, Response, UploadFile, status
from starlette.concurrency import run_in_threadpool

from caredesk.domain.cases import CaseStatus, Message, MessageKind
from caredesk.domain.errors import DomainError, ErrorCode, ValidationFailed
from caredesk.services.cases import cases
from caredesk.services.cases.cases import NewAttachment
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.sla import sla
from caredesk.web.api.common import (
    PAGE_LIMIT_DEFAULT,
    PAGE_LIMIT_MAX,
    SMALL_ID_MAX,
    ApiCall,
    Call,
    IdPath,
    decode_attachments,
    expected_version,
    fields_of,
)
from caredesk.web.api.schemas.base import PageOut
from caredesk.web.api.schemas.cases import (
    AssignmentIn,
    AuditEventOut,
    CaseDetailOut,
    CaseIn,
    CaseOut,
    CasePatch,
    MessageIn,
    MessageOut,
    NoteIn,
    StatusIn,
)
from caredesk.web.api.schemas.sla import CaseSlaOut
from caredesk.web.idempotency import IdempotentRoute
from caredesk.web.uploads import download, takes_files

router = APIRouter(route_class=IdempotentRoute, tags=["cases"])
AnsweredETag = Annotated[
    str | None,
    Header(description="The ETag you answered: refused (409) when the case changed since."),
]


def _detail(view: cases.CaseView) -> CaseDetailOut:
    return CaseDetailOut.of(view.case, messages=[MessageOut.of(m) for m in view.messages])


@router.post("/cases", status_code=status.HTTP_201_CREATED, response_model=CaseDetailOut)
def create_case(body: CaseIn, call: Call) -> Response:
    view = _create_case(body, call)
    assert view.case.id is not None
    call.created(f"/api/v1/cases/{view.case.id}", view.case.version)
    assert view.sla is not None
    detail = _detail(view)
    detail.sla = CaseSlaOut.of(view.sla)
    return call.answer(detail, status.HTTP_201_CREATED)


def _create_case(body: CaseIn, call: ApiCall) -> cases.CaseView:
    attachments = decode_attachments(body.attachments)
    limits = call.container.attachment_limits
    fields = fields_of(body, attachments=attachments, attachment_limits=limits)
    return call.run(cases.create_case, **fields, with_sla=True)


@router.get("/cases")
def list_cases(
    call: Call,
    status_: Annotated[list[CaseStatus] | None, Query(alias="status")] = None,
    assignee_id: Annotated[int | None, Query(ge=1, le=SMALL_ID_MAX)] = None,
    unassigned: bool = False,
    team_id: Annotated[int | None, Query(ge=1, le=SMALL_ID_MAX)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    customer_id: Annotated[str | None, Query(max_length=64)] = None,
    updated_since: datetime | None = None,
    q: Annotated[
        str | None, Query(max_length=500, description="Full-text search on subject and messages.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT,
    cursor: str | None = None,
) -> PageOut[CaseOut]:
    if updated_since is not None:
        updated_since = _as_utc(updated_since)
    filters = CaseFilter(
        status=tuple(status_ or ()),
        assignee_id=assignee_id,
        unassigned=unassigned,
        team_id=team_id,
        tag=tag,
        customer_id=customer_id,
        updated_since=updated_since,
        text=q,
    )
    page = call.read(cases.list_cases, filters, limit, cursor)
    return PageOut(items=[CaseOut.of(c) for c in page.items], next_cursor=page.next_cursor)


def _as_utc(moment: datetime) -> datetime:
    """Naive means UTC; an offset that pushes the moment past year 1..9999 cannot be stored."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValidationFailed(
            "updated_since is out of range", details={"field": "updated_since"}
        ) from exc


@router.get("/cases/{case_id}")
def get_case(case_id: IdPath, call: Call) -> CaseDetailOut:
    view = call.read(cases.get_case, case_id)
    call.set_etag(view.case.version)
    detail = _detail(view)
    detail.sla = CaseSlaOut.of(call.read(sla.case_sla, case_id, call.now()))
    return detail


@router.patch("/cases/{case_id}")
def update_case(
    case_id: IdPath, body: CasePatch, call: Call, if_match: Annotated[str | None, Header()] = None
) -> CaseOut:
    case = call.update(cases.update_case, case_id, body, if_match)
    if case.status is CaseStatus.SOLVED:
        call.container.knowledge_changed()  # a solved case joins the search index: embed it
    return call.versioned(case, CaseOut.of)


@router.post("/cases/{case_id}/status")
def change_status(case_id: IdPath, body: StatusIn, call: Call) -> CaseOut:
    case = call.run(cases.change_status, case_id, body.status, expected_version=body.version)
    call.container.knowledge_changed()
    return call.versioned(case, CaseOut.of)


@router.post("/cases/{case_id}/assignment")
def assign_case(case_id: IdPath, body: AssignmentIn, call: Call) -> CaseOut:
    fields = fields_of(body, exclude={"version"}, expected_version=body.version)
    case = call.run(cases.assign_case, case_id, **fields)
    return call.versioned(case, CaseOut.of)


@router.post(
    "/cases/{case_id}/messages", status_code=status.HTTP_201_CREATED, response_model=MessageOut
)
def add_message(
    case_id: IdPath, body: MessageIn, call: Call, if_match: AnsweredETag = None
) -> Response:
    attachments = decode_attachments(body.attachments)
    version = None if if_match is None else expected_version(if_match, None)
    message = _add_message(call, case_id, body.kind, body.body, attachments, version)
    return call.answer(MessageOut.of(message), status.HTTP_201_CREATED)


@router.post(
    "/cases/{case_id}/messages/upload",
    status_code=status.HTTP_201_CREATED,
    summary="Add a message with files (multipart/form-data)",
    responses={413: {"description": "A file, the files together or their number pass a limit."}},
)
@takes_files
async def add_message_with_files(
    case_id: IdPath,
    call: Call,
    kind: Annotated[MessageKind, Form()] = MessageKind.OUTBOUND,
    body: Annotated[str, Form(max_length=200_000)] = "",
    files: Annotated[
        list[UploadFile] | None,
        File(description="The files, streamed: each and all within the desk's attachment limits."),
    ] = None,
    if_match: AnsweredETag = None,
) -> MessageOut:
    """The same as `POST /cases/{case_id}/messages`, for files too large to send as base64
    in JSON: they are streamed, not held in the JSON body's limit."""
    if "\x00" in body:
        raise DomainError(
            "the body contains a NUL character, which no field accepts",
            code=ErrorCode.NUL_CHARACTER,
            details={"field": "body"},
        )
    version = None if if_match is None else expected_version(if_match, None)
    attachments = await call.attachments(files)
    message = await run_in_threadpool(_add_message, call, case_id, kind, body, attachments, version)
    return MessageOut.of(message)


def _add_message(
    call: ApiCall,
    case_id: int,
    kind: MessageKind,
    body: str,
    attachments: list[NewAttachment],
    version: int | None,
) -> Message:
    # A note stays on the case it is written on: the lifecycle routes only replies.
    container = call.container
    return call.run(
        cases.add_message,
        case_id,
        kind=kind,
        body=body,
        attachments=attachments,
        attachment_limits=container.attachment_limits,
        lifecycle_options=container.lifecycle,
        expected_version=version,
    )


@router.post("/cases/{case_id}/notes", status_code=status.HTTP_201_CREATED)
def add_note(case_id: IdPath, body: NoteIn, call: Call) -> MessageOut:
    attachments = decode_attachments(body.attachments)
    message = _add_message(call, case_id, MessageKind.NOTE, body.body, attachments, None)
    return MessageOut.of(message)


@router.get("/cases/{case_id}/audit")
def case_audit(case_id: IdPath, call: Call) -> list[AuditEventOut]:
    events = call.read(cases.case_audit_trail, case_id)
    return [AuditEventOut.of(e) for e in events]


@router.get("/attachments/{sha256}", response_class=Response, tags=["attachments"])
def get_attachment(sha256: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")], call: Call) -> Response:
    return download(call.read(cases.get_attachment, sha256))
