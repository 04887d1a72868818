"""Helpers shared by the API routers."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated

from fastapi import Path, Response

from caredesk.domain.errors import ValidationFailed
from caredesk.services.cases.cases import NewAttachment
from caredesk.web.api.schemas.cases import AttachmentIn

_ETAG = re.compile(r'^(?:W/)?"(\d+)"$')


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def created(response: Response, location: str, version: int) -> None:
    """Where the new record is read, and the version a later change must name."""
    response.headers["Location"] = location
    set_etag(response, version)


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
