"""Satisfaction ratings: the desk's satisfaction surveys in Zendesk's shape, both pagings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from caredesk.domain.errors import NotFound, ValidationFailed
from caredesk.services.zendesk import ratings
from caredesk.services.zendesk.ports import UserRef
from caredesk.services.zendesk.ratings import Rating
from caredesk.web.zendesk import serializers as out
from caredesk.web.zendesk.calls import Call, answer
from caredesk.web.zendesk.errors import ZendeskRoute
from caredesk.web.zendesk.paging import CursorPaging, OffsetPaging, Paging

router = APIRouter(route_class=ZendeskRoute)

# Offset paging reads from the first rating; past this many, page with the cursor.
OFFSET_MAX = 10_000
ID_MAX = 2**63 - 1


def _shown(call: Call, found: list[Rating]) -> list[dict[str, Any]]:
    refs = [UserRef.customer(r.survey.customer_id) for r in found]
    refs += [UserRef.agent(r.case.assignee_id) for r in found if r.case and r.case.assignee_id]
    ids = call.user_ids(refs)
    return [_rating(r, ids, call.base) for r in found]


def _rating(rating: Rating, ids: dict[UserRef, int], base: str) -> dict[str, Any]:
    survey, case = rating.survey, rating.case
    assignee = case.assignee_id if case else None
    return {
        "id": survey.id,
        "url": f"{base}/api/v2/satisfaction_ratings/{survey.id}.json",
        "score": rating.score,
        "comment": survey.comment or None,
        "reason": None,
        "reason_id": None,
        "ticket_id": survey.case_id,
        "requester_id": ids.get(UserRef.customer(survey.customer_id)),
        "assignee_id": ids.get(UserRef.agent(assignee)) if assignee else None,
        "group_id": case.team_id if case else None,
        "created_at": out.iso(survey.sent_at),
        "updated_at": out.iso(survey.answered_at or survey.sent_at),
    }


def _after(paging: CursorPaging) -> int:
    after = paging.after or "0"
    if not after.isdigit() or int(after) > ID_MAX:
        raise ValidationFailed(
            "page[after] is not a cursor this list gave", details={"field": "page[after]"}
        )
    return int(after)


def _page(call: Call, paging: OffsetPaging | CursorPaging) -> dict[str, Any]:
    if isinstance(paging, CursorPaging):
        found, _ = call.read(ratings.ratings, _after(paging), paging.size + 1)
        page = found[: paging.size]
        more = str(page[-1].survey.id) if len(found) > paging.size else None
        return {"satisfaction_ratings": _shown(call, page), **paging.links(call.request, more)}
    if paging.offset + paging.per_page > OFFSET_MAX:
        raise ValidationFailed(
            f"offset paging stops at {OFFSET_MAX} ratings", details={"field": "page"}
        )
    found, total = call.read(ratings.ratings, 0, paging.offset + paging.per_page)
    shown = _shown(call, found[paging.offset :])
    return {"satisfaction_ratings": shown, **paging.links(call.request, total)}


@router.get("/satisfaction_ratings.json")
# zenpy's satisfaction_ratings() asks without the `.json`, and Zendesk answers it so too.
@router.get("/satisfaction_ratings", include_in_schema=False)
def list_ratings(call: Call, paging: Paging) -> JSONResponse:
    return answer(_page(call, paging))


@router.get("/satisfaction_ratings/{rating_id}.json")
def show(call: Call, rating_id: int) -> JSONResponse:
    if not 1 <= rating_id <= ID_MAX:
        raise NotFound("satisfaction_rating", rating_id)
    found = call.read(ratings.rating, rating_id)
    return answer({"satisfaction_rating": _shown(call, [found])[0]})
