"""One call to /api/v2: the request, the container, the caller and the moment it came in,
with the user ids of the people its answer names."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from caredesk.domain.agents import Actor
from caredesk.domain.cases import Case
from caredesk.services.zendesk import users
from caredesk.services.zendesk.ports import UserRef
from caredesk.web.deps import ContainerDep, NowDep
from caredesk.web.visits import Visit
from caredesk.web.zendesk import serializers as out
from caredesk.web.zendesk.auth import ZendeskActor


@dataclass(frozen=True, slots=True)
class ZendeskCall(Visit[Actor]):
    actor: Actor
    at: datetime

    @property
    def acting_as(self) -> Actor:
        return self.actor

    def now(self) -> datetime:
        return self.at

    @property
    def base(self) -> str:
        """The scheme and host the caller reached the desk by: links in the answer use them."""
        return str(self.request.base_url).rstrip("/")

    def user_ids(self, people: Iterable[UserRef | None]) -> dict[UserRef, int]:
        wanted = {p for p in people if p is not None}
        return users.user_ids(
            self.container.uow.read_only(), self.container.uow(), self.actor, self.at, wanted
        )

    def tickets(self, found: Iterable[Case]) -> list[dict[str, Any]]:
        """These cases as tickets, the user ids of their customers and assignees read at once."""
        cases = list(found)
        people = [UserRef.customer(c.customer_id) for c in cases]
        people += [UserRef.agent(c.assignee_id) for c in cases if c.assignee_id]
        ids = self.user_ids(people)
        return [out.ticket(c, ids, self.base) for c in cases]

    def people(self, ids: Iterable[int]) -> dict[int, UserRef]:
        return self.read(users.people_of, set(ids))


def answer(body: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code)


async def zendesk_call(
    request: Request, actor: ZendeskActor, container: ContainerDep, now: NowDep
) -> ZendeskCall:
    return ZendeskCall(request, container, actor, now)


Call = Annotated[ZendeskCall, Depends(zendesk_call)]
