"""Zendesk's two ways of paging a list, with links absolute on the request's own host.

Offset paging: `page` and `per_page` in, `next_page`, `previous_page` and `count` out.
Cursor paging: `page[size]` and `page[after]` in, `meta.has_more`, `meta.after_cursor` and
`links.next` out; the cursor is the desk's own keyset cursor, passed through unread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from caredesk.domain.errors import DomainError, ErrorCode

PER_PAGE_DEFAULT = PER_PAGE_MAX = 100


@dataclass(frozen=True, slots=True)
class OffsetPaging:
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def links(self, request: Request, count: int) -> dict[str, Any]:
        last = self.offset + self.per_page >= count
        return {
            "next_page": None if last else page_url(request, page=self.page + 1),
            "previous_page": page_url(request, page=self.page - 1) if self.page > 1 else None,
            "count": count,
        }


@dataclass(frozen=True, slots=True)
class CursorPaging:
    size: int
    after: str | None

    def links(self, request: Request, next_cursor: str | None) -> dict[str, Any]:
        return {
            "meta": {
                "has_more": next_cursor is not None,
                "after_cursor": next_cursor,
                "before_cursor": None,
            },
            "links": {
                "next": page_url(request, **{"page[after]": next_cursor})
                if next_cursor is not None
                else None,
                "prev": None,
            },
        }


def page_url(request: Request, **params: Any) -> str:
    """The request's own URL (its scheme and Host) with these parameters set."""
    return str(request.url.include_query_params(**params))


def paging(
    page: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    per_page: Annotated[int, Query(ge=1, le=PER_PAGE_MAX)] = PER_PAGE_DEFAULT,
    page_size: Annotated[int | None, Query(alias="page[size]", ge=1, le=PER_PAGE_MAX)] = None,
    page_after: Annotated[str | None, Query(alias="page[after]", max_length=512)] = None,
    page_before: Annotated[str | None, Query(alias="page[before]", max_length=512)] = None,
) -> OffsetPaging | CursorPaging:
    """Cursor paging when any `page[...]` parameter is given, else offset paging."""
    if page_before is not None:
        raise DomainError(
            "page[before] is not supported: page forward with page[after]",
            code=ErrorCode.INVALID_CURSOR,
            details={"field": "page[before]"},
        )
    if page_size is not None or page_after is not None:
        return CursorPaging(page_size or PER_PAGE_DEFAULT, page_after or None)
    return OffsetPaging(page or 1, per_page)


Paging = Annotated[OffsetPaging | CursorPaging, Depends(paging)]
