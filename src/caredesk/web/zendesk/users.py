"""Users: customers (`end-user`) and agents (`agent`, `admin`) under one integer id each."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StringConstraints

from caredesk.domain.errors import DomainError, ErrorCode, NotFound, ValidationFailed
from caredesk.services.access import auth
from caredesk.services.zendesk import people
from caredesk.services.zendesk.ports import Person, UserRef
from caredesk.web.zendesk import serializers as out
from caredesk.web.zendesk.calls import Call, answer
from caredesk.web.zendesk.errors import ZendeskRoute
from caredesk.web.zendesk.incremental import (
    EPOCH_MAX,
    EPOCH_MIN,
    PER_PAGE_DEFAULT,
    PER_PAGE_MAX,
    Asked,
    export,
    export_by_time,
)
from caredesk.web.zendesk.paging import CursorPaging, OffsetPaging, Paging

router = APIRouter(route_class=ZendeskRoute)

SHOW_MANY_MAX = 100
SEARCH_MAX = 100
OFFSET_MAX = 10_000
# User ids are the database's 64-bit keys: a larger number names nobody.
ID_MAX = 2**63 - 1


def _anonymous(call: Call) -> dict[str, Any]:
    """A token that belongs to no agent is nobody in particular, as Zendesk's anonymous user."""
    return out.user(
        None,
        call.base,
        name="Anonymous user",
        email="invalid@example.com",
        role="anonymous",
        created_at=None,
        updated_at=None,
        user_fields={"caredesk_role": call.actor.role.value},
    )


@router.get("/users/me.json")
def me(call: Call) -> JSONResponse:
    agent_id = call.actor.agent_id
    if agent_id is None:
        return answer({"user": _anonymous(call)})
    agent = next(a for a in call.read(auth.list_agents) if a.id == agent_id)
    ref = UserRef.agent(agent_id)
    ids = call.user_ids([ref])
    return answer({"user": out.agent_user(agent, ids[ref], call.base)})


class UserIn(BaseModel):
    """The fields of a user the desk keeps; the others a Zendesk client sends are ignored."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=401)]
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)]
    role: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] = "end-user"
    external_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    phone: str | None = Field(default=None, max_length=40)
    tags: list[str] = Field(default_factory=list, max_length=100)

    def new(self) -> people.NewUser:
        return people.NewUser(self.name, self.email, self.role, self.external_id, self.phone)


class UserBody(BaseModel):
    user: UserIn


def shown(call: Call, person: Person) -> dict[str, Any]:
    if person.customer is not None:
        return out.customer_user(person.customer, person.user_id, call.base)
    assert person.agent is not None
    return out.agent_user(person.agent, person.user_id, call.base)


def _users(call: Call, found: list[Person]) -> list[dict[str, Any]]:
    return [shown(call, p) for p in found]


def _numbers(text: str, field: str) -> list[int]:
    try:
        wanted = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        message = f"{field} are user ids separated by commas"
        raise ValidationFailed(message, details={"field": field}) from exc
    if len(wanted) > SHOW_MANY_MAX:
        raise ValidationFailed(f"at most {SHOW_MANY_MAX} ids at once", details={"field": field})
    return [i for i in wanted if 1 <= i <= ID_MAX]


def _after(paging: CursorPaging) -> int | None:
    """The user id the page before ended at: the list's cursor is the last user id shown."""
    if paging.after is None:
        return None
    if not paging.after.isdigit() or int(paging.after) > ID_MAX:
        raise DomainError(
            "page[after] is not a cursor this list gave",
            code=ErrorCode.INVALID_CURSOR,
            details={"field": "page[after]"},
        )
    return int(paging.after)


def _check_offset(paging: OffsetPaging) -> None:
    # As for tickets: offset paging reads the list from its start, so it stops where Zendesk's
    # does, and the cursor pages as deep as wanted.
    if paging.offset + paging.per_page > OFFSET_MAX:
        raise DomainError(
            f"offset paging stops at {OFFSET_MAX} users: page with page[size] and page[after]",
            code=ErrorCode.INVALID_CURSOR,
            details={"field": "page"},
        )


def _listed(call: Call, kept: Any, after: int | None, limit: int) -> Any:
    uow = call.container.uow
    return people.list_people(uow.read_only(), uow(), call.actor, call.at, kept, after, limit)


def _found(call: Call, **wanted: Any) -> list[Person]:
    uow = call.container.uow
    return people.find_people(uow.read_only(), uow(), call.actor, call.at, **wanted)


Role = Annotated[str | None, Query(max_length=20)]
Roles = Annotated[list[str] | None, Query(alias="role[]", max_length=3)]


@router.get("/users.json")
def list_users(call: Call, paging: Paging, role: Role = None, roles: Roles = None) -> JSONResponse:
    kept = people.people_filter([*(roles or []), *([role] if role else [])])
    if isinstance(paging, CursorPaging):
        page = _listed(call, kept, _after(paging), paging.size)
        links = paging.links(call.request, page.next_cursor)
        return answer({"users": _users(call, page.items), **links})
    _check_offset(paging)
    page = _listed(call, kept, None, paging.offset + paging.per_page)
    total = call.read(people.count_people, kept)
    found = _users(call, page.items[paging.offset :])
    return answer({"users": found, **paging.links(call.request, total)})


Text = Annotated[str | None, Query(max_length=4096)]


@router.get("/users/show_many.json")
def show_many(call: Call, ids: Text = None, external_ids: Text = None) -> JSONResponse:
    if external_ids is not None:
        wanted = [e.strip() for e in external_ids.split(",") if e.strip()][: SHOW_MANY_MAX + 1]
        if len(wanted) > SHOW_MANY_MAX:
            raise ValidationFailed("at most 100 ids at once", details={"field": "external_ids"})
        found = [p for e in wanted for p in _found(call, external_id=e, limit=1)]
        return answer({"users": _users(call, found)})
    numbers = _numbers(ids or "", "ids")
    by_id = {p.user_id: p for p in call.read(people.people_by_ids, set(numbers))}
    return answer({"users": _users(call, [by_id[i] for i in dict.fromkeys(numbers) if i in by_id])})


@router.get("/users/search.json")
def search(call: Call, query: Text = None, external_id: Text = None) -> JSONResponse:
    if external_id is not None:
        found = _found(call, external_id=external_id.strip(), limit=1)
        return answer({"users": _users(call, found), "count": len(found)})
    words = (query or "").strip()
    field, _, value = words.partition(":")
    if field == "email" and value.strip():
        found = _found(call, email=value.strip(), limit=SEARCH_MAX)
    else:
        found = _found(call, text=words or None, limit=SEARCH_MAX)
    return answer({"users": _users(call, found), "count": len(found)})


@router.get("/users/{user_id}.json")
def show(call: Call, user_id: int) -> JSONResponse:
    found = call.read(people.people_by_ids, [user_id] if 1 <= user_id <= ID_MAX else [])
    if not found:
        raise NotFound("user", user_id)
    return answer({"user": shown(call, found[0])})


@router.post("/users.json")
def create(call: Call, body: UserBody) -> JSONResponse:
    uow, hasher = call.container.uow(), call.container.hasher
    person = people.create_user(uow, call.actor, call.at, hasher, body.user.new())
    return answer({"user": shown(call, person)}, status_code=201)


@router.post("/users/create_or_update.json")
def create_or_update(call: Call, body: UserBody) -> JSONResponse:
    uow, hasher = call.container.uow(), call.container.hasher
    person, made = people.create_or_update_user(uow, call.actor, call.at, hasher, body.user.new())
    return answer({"user": shown(call, person)}, status_code=201 if made else 200)


@router.get("/incremental/users/cursor.json")
def incremental(call: Call, asked: Asked) -> JSONResponse:
    return export(call, asked, shown)


@router.get("/incremental/users.json")
def incremental_by_time(
    call: Call,
    start_time: Annotated[int, Query(ge=EPOCH_MIN, le=EPOCH_MAX)],
    per_page: Annotated[int, Query(ge=1, le=PER_PAGE_MAX)] = PER_PAGE_DEFAULT,
) -> JSONResponse:
    return export_by_time(call, start_time, per_page, shown)
