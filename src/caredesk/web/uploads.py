"""Requests that carry files: which routes take them, how their files are read, and the
refusal of a body that outgrew what such a route accepts.

A route that takes files accepts a body up to the files a message may carry plus the
form's own limit (`max_body_bytes`); every other body stays within `max_body_bytes`. A
multipart body is streamed to Starlette's spooled files (memory, then disk past 1 MB), never
held whole; each file is read once, after the limits are checked, to be stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import File, Response, UploadFile
from starlette.exceptions import HTTPException
from starlette.types import Scope

from caredesk.domain.attachments import AttachmentLimits, readable_size
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.services.cases.cases import NewAttachment

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

_TAKES_FILES: set[Callable[..., Any]] = set()
# A message form's file field, which may send none.
MessageFiles = Annotated[list[UploadFile] | None, File()]


def takes_files(endpoint: Endpoint) -> Endpoint:
    """Mark a route whose form carries a message's files: it gets the larger body limit."""
    _TAKES_FILES.add(endpoint)
    return endpoint


class BodyTooLarge(HTTPException):
    """A streamed body passed its limit while it was read. An HTTPException, so the framework
    hands it on unchanged from form parsing to the route, whose door answers it (a page in
    the console and portal, problem+json in the API)."""

    def __init__(self, problem: DomainError) -> None:
        super().__init__(status_code=413, detail=problem.message)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """How large a streamed (multipart) body may grow, decided once routing has chosen its
    route: the routes that take files get the message's files on top of the form's limit."""

    max_body_bytes: int
    attachments: AttachmentLimits

    def for_route(self, scope: Scope) -> tuple[int, DomainError]:
        """The limit for this request's route, and the refusal past it."""
        # Routing records the endpoint in the scope before the route reads its body.
        if scope.get("endpoint") in _TAKES_FILES:
            limit = self.attachments.message_bytes + self.max_body_bytes
            return limit, self.attachments.too_large_body()
        return self.max_body_bytes, DomainError(
            f"the request body is larger than {readable_size(self.max_body_bytes)}",
            code=ErrorCode.PAYLOAD_TOO_LARGE,
            details={"limit": self.max_body_bytes},
        )


def is_multipart(scope: Scope) -> bool:
    content_type: bytes = dict(scope.get("headers") or []).get(b"content-type", b"")
    return content_type.lower().startswith(b"multipart/form-data")


# The paths whose body is one file, as it is (Zendesk's uploads): streamed as a form is.
_RAW_FILE_PATHS: set[str] = set()


def takes_raw_file(path: str) -> Callable[[Endpoint], Endpoint]:
    """Mark the route at `path` whose whole body is a file: it is streamed with the larger
    limit of a route that `takes_files`, and its bytes are not read as JSON (a NUL is data)."""

    def mark(endpoint: Endpoint) -> Endpoint:
        _RAW_FILE_PATHS.add(path)
        return endpoint

    return mark


def is_streamed(scope: Scope) -> bool:
    """A body that goes to its route as it arrives: a form's, or a file's."""
    return is_multipart(scope) or scope.get("path") in _RAW_FILE_PATHS


async def read_files(
    files: list[UploadFile] | None, limits: AttachmentLimits
) -> list[NewAttachment]:
    """The files a form carried (an empty file field sends none), each read once; the
    limits are checked on their sizes first, so a refused file is never read."""
    chosen = [f for f in files or [] if f.filename]
    limits.check([(_filename(f), f.size or 0) for f in chosen])
    return [
        NewAttachment(
            _filename(f), (f.content_type or "application/octet-stream")[:255], await f.read()
        )
        for f in chosen
    ]


def _filename(file: UploadFile) -> str:
    # A name is the sender's to choose, but PostgreSQL cannot store NUL, and a name is shown.
    return (file.filename or "").replace("\x00", "")[:255] or "attachment"


def download(content: bytes) -> Response:
    """A stored file as a download, never rendered inline: attachments are untrusted content.
    Its bytes never change under its hash, so a browser may keep it."""
    return Response(
        content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": "attachment",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=31536000, immutable",
        },
    )
