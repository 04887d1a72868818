"""Zendesk's incremental exports: what changed since a time, oldest change first, page after
page until `end_of_stream`, with a cursor to come back with later (or, in Zendesk's older
time-based form, the second to start the next page from)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from fastapi.responses import JSONResponse

from caredesk.domain.errors import DomainError, ErrorCode, ValidationFailed
from caredesk.services.zendesk import people
from caredesk.services.zendesk.ports import Person
from caredesk.web.zendesk.calls import Call, answer

PER_PAGE_MAX = PER_PAGE_DEFAULT = 1000
# Epoch seconds a datetime holds (year 1 to 9999).
EPOCH_MIN, EPOCH_MAX = -62_135_596_800, 253_402_300_799


@dataclass(frozen=True, slots=True)
class Export:
    start_time: int | None
    cursor: str | None
    per_page: int


def export_of(
    start_time: Annotated[int | None, Query(ge=EPOCH_MIN, le=EPOCH_MAX)] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    per_page: Annotated[int, Query(ge=1, le=PER_PAGE_MAX)] = PER_PAGE_DEFAULT,
) -> Export:
    if (start_time is None) == (cursor is None):
        raise ValidationFailed(
            "send start_time (epoch seconds) or a cursor, one of them",
            details={"field": "start_time"},
        )
    return Export(start_time, cursor, per_page)


Asked = Annotated[Export, Depends(export_of)]


def encode(at: datetime, user_id: int) -> str:
    raw = json.dumps([at.astimezone(UTC).isoformat(), user_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _foreign(exc: Exception | None = None) -> DomainError:
    error = DomainError(
        "cursor is not one this export gave",
        code=ErrorCode.INVALID_CURSOR,
        details={"field": "cursor"},
    )
    error.__cause__ = exc
    return error


def decode(cursor: str) -> tuple[datetime, int]:
    try:
        at, user_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = datetime.fromisoformat(at)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise _foreign(exc) from exc
    if moment.tzinfo is None or isinstance(user_id, bool) or not isinstance(user_id, int):
        raise _foreign()
    if not 0 <= user_id <= 2**63 - 1:
        raise _foreign()
    return moment, user_id


def _since(start_time: int, now: datetime) -> datetime:
    since = datetime.fromtimestamp(start_time, UTC)
    if since > now:
        # Zendesk answers a start time that has not come yet as too recent.
        raise ValidationFailed("start_time is too recent", details={"field": "start_time"})
    return since


def _start(asked: Export, now: datetime) -> tuple[datetime, int]:
    if asked.cursor is not None:
        return decode(asked.cursor)
    assert asked.start_time is not None
    # Before any user id: the first page holds everyone changed at `since` too.
    return _since(asked.start_time, now), 0


def export(
    call: Call, asked: Export, shown: Callable[[Call, Person], dict[str, Any]]
) -> JSONResponse:
    after = _start(asked, call.at)
    uow = call.container.uow
    found, ended = people.changed_people(
        uow.read_only(), uow(), call.actor, call.at, after, asked.per_page
    )
    # The cursor of the last user shown, or where this page began when it is empty: the
    # client comes back with it later and gets what changed since.
    last = (found[-1][0], found[-1][1].user_id) if found else after
    cursor = encode(*last)
    return answer(
        {
            "users": [shown(call, person) for _, person in found],
            "after_url": str(
                call.request.url.remove_query_params("start_time").include_query_params(
                    cursor=cursor, per_page=asked.per_page
                )
            ),
            "after_cursor": cursor,
            "before_url": None,
            "before_cursor": None,
            "end_of_stream": ended,
        }
    )


def time_page(
    call: Call,
    key: str,
    shown: list[dict[str, Any]],
    last_change: datetime | None,
    start_time: int,
    per_page: int,
    ended: bool,
) -> dict[str, Any]:
    """Zendesk's time-based page: the next one starts at the second the page's last record
    changed (`last_change`, None on an empty page), so records of that second come again
    there (a reader stores them by id)."""
    end_time = int(last_change.timestamp()) if last_change is not None else start_time
    return {
        key: shown,
        "next_page": str(
            call.request.url.include_query_params(start_time=end_time, per_page=per_page)
        ),
        "count": len(shown),
        "end_time": end_time,
        "end_of_stream": ended,
    }


def export_by_time(
    call: Call,
    start_time: int,
    per_page: int,
    shown: Callable[[Call, Person], dict[str, Any]],
) -> JSONResponse:
    """The users by time; node-zendesk's `users.incremental` reads only this export."""
    uow = call.container.uow
    found, ended = people.changed_people(
        uow.read_only(), uow(), call.actor, call.at, (_since(start_time, call.at), 0), per_page
    )
    users = [shown(call, person) for _, person in found]
    last = found[-1][0] if found else None
    return answer(time_page(call, "users", users, last, start_time, per_page, ended))
