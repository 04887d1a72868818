"""A visit: one request to a door of the desk (a console or portal page, a call to the REST
API), by the one it is for.

Each door says who that is (a signed-in agent or an API caller acts as their actor, a portal
customer as their customer id); what the request reads and the commands it gives run as them,
in a unit of work of their own, the same way at every door."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from fastapi import Request, UploadFile

from caredesk.bootstrap import Container
from caredesk.services.cases.cases import NewAttachment
from caredesk.web.uploads import read_files

As = TypeVar("As")
P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Visit(Generic[As]):
    request: Request
    container: Container

    @property
    def acting_as(self) -> As:
        """Who the request's reads and commands are given as: each door says."""
        raise NotImplementedError

    def read(
        self, query: Callable[Concatenate[Any, As, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """What the request reads, in a read-only unit of work of its own."""
        return query(self.container.uow.read_only(), self.acting_as, *args, **kwargs)

    def run(
        self,
        command: Callable[Concatenate[Any, As, datetime, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """A command the request gives, now, in a unit of work of its own."""
        return command(self.container.uow(), self.acting_as, self.now(), *args, **kwargs)

    def now(self) -> datetime:
        return self.container.clock.now()

    async def attachments(self, files: list[UploadFile] | None) -> list[NewAttachment]:
        """The files a message form carried, within what a message may carry."""
        return await read_files(files, self.container.attachment_limits)
