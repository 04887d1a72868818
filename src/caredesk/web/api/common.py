"""Helpers shared by the API routers."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, Path, Request, Response
from pydantic import BaseModel

from caredesk.domain.agents import Actor
from caredesk.domain.errors import ValidationFailed
from caredesk.services.cases.cases import NewAttachment
from caredesk.web.api.schemas.cases import AttachmentIn
from caredesk.web.deps import ActorDep, ContainerDep, NowDep
from caredesk.web.visits import Visit

_ETAG = re.compile(r'^(?:W/)?"(\d+)"$')


def etag(version: int) -> str:
    return f'"{version}"'


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


Record = TypeVar("Record", bound=Versioned)
Out = TypeVar("Out")


def fields_of(body: BaseModel, exclude: Collection[str] = (), **converted: Any) -> dict[str, Any]:
    """A request body's fields as the keyword arguments of the command it asks for, under the
    same names: a field the command takes in another form is given by name, and only those."""
    named = {name: getattr(body, name) for name in type(body).model_fields if name not in exclude}
    return named | converted


def expected_version(if_match: str | None, body_version: int | None) -> int | None:
    """The version the caller read: from If-Match, or the body's `version` field.

    None when the caller sent neither: the service asks for one (428) once it has
    checked the caller may edit at all.
    """
    if if_match is not None:
        match = _ETAG.match(if_match.strip())
        if match is None:
            raise ValidationFailed(
                'If-Match must be an ETag this API issued, like "3"',
                details={"header": "If-Match"},
            )
        version = int(match.group(1))
        if body_version is not None and body_version != version:
            raise ValidationFailed(
                "If-Match and the body's version disagree", details={"field": "version"}
            )
        return version
    return body_version


class Patch(Protocol):
    """A body that changes a record: the fields the caller sent, and the version it read."""

    @property
    def version(self) -> int | None: ...

    def model_dump(self, *, exclude_unset: bool, exclude: set[str]) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class ApiCall(Visit[Actor]):
    """One call to the REST API: the request, the container, the caller, the moment the call
    came in and the response being built, so that a route names its own parameters only."""

    actor: Actor
    at: datetime
    response: Response

    @property
    def acting_as(self) -> Actor:
        return self.actor

    def now(self) -> datetime:
        return self.at

    def set_etag(self, version: int) -> None:
        self.response.headers["ETag"] = etag(version)

    def created(self, location: str, version: int) -> None:
        """Where the new record is read, and the version a later change must name."""
        self.response.headers["Location"] = location
        self.set_etag(version)

    def answer(self, body: BaseModel, status_code: int = 200) -> Response:
        """The body as JSON, with the headers set on this call (Location, ETag).

        A route that returns its model has FastAPI validate it once more before serialising
        it, and a plain `def` route does that in one more worker thread; a model built by the
        route is valid already. The route still names its `response_model`, for the
        OpenAPI document.
        """
        answered = Response(
            body.model_dump_json(by_alias=True), status_code, media_type="application/json"
        )
        answered.headers.raw.extend(self.response.headers.raw)
        return answered

    def versioned(self, record: Record, out: Callable[[Record], Out]) -> Out:
        """A record's body, with the version a later change to it must name (its ETag)."""
        self.set_etag(record.version)
        return out(record)

    def update(
        self,
        update: Callable[..., Record],
        record_id: object,
        body: Patch,
        if_match: str | None,
        changes: dict[str, Any] | None = None,
    ) -> Record:
        """Run a record's update command on what the body changes (unless `changes` says it
        in the command's own terms), refused if the record moved past the version the caller
        read."""
        if changes is None:
            changes = body.model_dump(exclude_unset=True, exclude={"version"})
        version = expected_version(if_match, body.version)
        return self.run(update, record_id, expected_version=version, changes=changes)


async def api_call(
    request: Request, actor: ActorDep, container: ContainerDep, now: NowDep, response: Response
) -> ApiCall:
    return ApiCall(request, container, actor, now, response)


Call = Annotated[ApiCall, Depends(api_call)]


def decode_attachments(items: list[AttachmentIn]) -> list[NewAttachment]:
    decoded = []
    for item in items:
        try:
            content = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValidationFailed(
                f"attachment {item.filename!r} is not valid base64",
                details={"field": "attachments"},
            ) from exc
        decoded.append(NewAttachment(item.filename, item.content_type, content))
    return decoded


# Ids the database can hold: agents and teams are INTEGER, cases and the rest BIGINT.
SMALL_ID_MAX = 2**31 - 1
BIG_ID_MAX = 2**63 - 1
IdPath = Annotated[int, Path(ge=1, le=BIG_ID_MAX)]
# Agents, teams and tokens are INTEGER: a larger id is a 422, never a database error.
SmallIdPath = Annotated[int, Path(ge=1, le=SMALL_ID_MAX)]

PAGE_LIMIT_DEFAULT = 50
PAGE_LIMIT_MAX = 200
