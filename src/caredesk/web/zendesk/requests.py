"""What Zendesk's clients send to write tickets, read into the ticket service's terms.

Zendesk ignores fields it does not know, and so do these models (`extra="ignore"`): a client
that sends `type`, `collaborator_ids` or `via` gets its ticket, without those fields
(docs/zendesk.md lists what is read)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from caredesk.domain.cases import EXTERNAL_ID_MAX, CustomValue, Priority
from caredesk.services.core.ports import TextFormats
from caredesk.services.zendesk.tickets import Comment, Requester, TicketFields
from caredesk.web.zendesk.serializers import STATUS_IN

# Ids of agents' and teams' integer columns; a Zendesk user id is a BIGINT.
SMALL_ID_MAX = 2**31 - 1
BIG_ID_MAX = 2**63 - 1
BODY_MAX = 200_000
CLEARABLE = ("assignee_id", "group_id", "external_id")

ZendeskStatus = Literal["new", "open", "pending", "hold", "solved", "closed"]
ZendeskPriority = Literal["low", "normal", "high", "urgent"]
UserId = Annotated[int, Field(ge=1, le=BIG_ID_MAX)]


class _Zendesk(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CommentIn(_Zendesk):
    body: Annotated[str | None, Field(max_length=BODY_MAX)] = None
    html_body: Annotated[str | None, Field(max_length=BODY_MAX)] = None
    public: bool = True
    uploads: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=100)] = []

    def comment(self, formats: TextFormats) -> Comment:
        # As on Zendesk, `html_body` is the comment when both are sent. Inbound HTML is
        # untrusted: it is cleaned as a mail's is, and the desk keeps its text.
        text = formats.html_text(self.html_body) if self.html_body else self.body
        return Comment(body=text or "", public=self.public, uploads=tuple(self.uploads))


class RequesterIn(_Zendesk):
    name: Annotated[str | None, Field(max_length=255)] = None
    email: Annotated[str | None, Field(max_length=320)] = None


class CustomFieldIn(_Zendesk):
    id: Annotated[int, Field(ge=1, le=BIG_ID_MAX)]
    value: CustomValue = None


class TicketIn(_Zendesk):
    subject: Annotated[str | None, Field(max_length=500)] = None
    comment: CommentIn | None = None
    requester_id: UserId | None = None
    requester: RequesterIn | None = None
    status: ZendeskStatus | None = None
    priority: ZendeskPriority | None = None
    tags: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=100)] | None = None
    assignee_id: UserId | None = None
    group_id: Annotated[int | None, Field(ge=1, le=SMALL_ID_MAX)] = None
    external_id: Annotated[str | None, Field(max_length=EXTERNAL_ID_MAX)] = None
    custom_fields: Annotated[list[CustomFieldIn], Field(max_length=200)] | None = None

    def fields(self) -> TicketFields:
        return TicketFields(
            subject=self.subject,
            status=STATUS_IN[self.status] if self.status else None,
            priority=Priority(self.priority) if self.priority else None,
            tags=self.tags,
            assignee_id=self.assignee_id,
            group_id=self.group_id,
            external_id=self.external_id,
            custom_fields={str(f.id): f.value for f in self.custom_fields or []},
            # A field sent as null clears it, as on Zendesk; one not sent is kept.
            cleared=frozenset(
                name
                for name in CLEARABLE
                if name in self.model_fields_set and getattr(self, name) is None
            ),
        )

    def requester_of(self) -> Requester:
        if self.requester_id is not None:
            return Requester(user_id=self.requester_id)
        given = self.requester or RequesterIn()
        return Requester(email=given.email, name=given.name)


class TicketRequest(_Zendesk):
    ticket: TicketIn
