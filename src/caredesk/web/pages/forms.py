"""The console's forms as typed models: FastAPI reads each with `Annotated[Model, Form()]`,
and a value it cannot read becomes the console's readable 422 page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, TypedDict

from fastapi import Form
from pydantic import BaseModel, Field, field_validator

from caredesk.domain.agents import Role
from caredesk.domain.errors import ValidationFailed
from caredesk.services.console import pages
from caredesk.services.console.pages import CASE_FIELDS, GrantRequest

# A YAML document typed into an administration form (a routing rule, a calendar, an SLA policy).
YamlText = Annotated[str, Form(max_length=20_000)]


class ReplyForm(BaseModel):
    body: str = Field(default="", max_length=200_000)
    kind: str = Field(default="reply", max_length=10)
    solve: str = Field(default="", max_length=5)
    version: int | None = Field(default=None, ge=1)


class CaseFieldsForm(BaseModel):
    """The case's fields as chosen, and as the page showed them (`shown_…`)."""

    status: str = ""
    priority: str = ""
    assignee: str = ""
    team: str = ""
    tags: str = ""
    shown_status: str = ""
    shown_priority: str = ""
    shown_assignee: str = ""
    shown_team: str = ""
    shown_tags: str = ""
    version: str = ""

    def chosen(self) -> dict[str, str]:
        return {k: str(getattr(self, k)) for k in CASE_FIELDS}

    def shown(self) -> dict[str, str]:
        return {k: str(getattr(self, f"shown_{k}")) for k in CASE_FIELDS}


class GrantForm(BaseModel):
    remedies: str = Field(max_length=500)
    idempotency_key: str = Field(min_length=8, max_length=200)
    basis: str = Field(default="", max_length=500)
    tell_now: str = Field(default="", max_length=5)

    def request(self, basis: dict[str, int] | None) -> GrantRequest:
        return GrantRequest(self.remedies, self.idempotency_key, basis, bool(self.tell_now))


class DecisionForm(BaseModel):
    """One of a page's two buttons (approve or deny, confirm or reject) and the note with it."""

    decision: str = Field(max_length=10)
    note: str = Field(default="", max_length=2000)

    def says(self, yes: str, no: str) -> bool:
        """Whether the button pressed is `yes`; a value neither button sends is refused."""
        if self.decision not in (yes, no):
            raise ValidationFailed(f"decide {yes} or {no}", details={"field": "decision"})
        return self.decision == yes

    @field_validator("note")
    @classmethod
    def _trimmed(cls, note: str) -> str:
        return note.strip()


class TimeZoneForm(BaseModel):
    time_zone: str = ""

    def chosen(self) -> str | None:
        """Empty: the desk's zone."""
        return self.time_zone.strip() or None


class WeeklySummaryForm(BaseModel):
    weekly_summary: str = ""

    def wanted(self) -> bool:
        """A checked box sends `on`; an unchecked one sends nothing."""
        return self.weekly_summary == "on"


class AgentForm(BaseModel):
    email: str = ""
    name: str = ""
    role: str = ""
    password: str = ""
    teams: list[str] = Field(default_factory=list)

    def fields(self) -> dict[str, str]:
        """What was typed, trimmed, to fill the form again after a refusal."""
        return {k: getattr(self, k).strip() for k in ("email", "name", "role", "password")}

    def new_agent(self) -> NewAgent:
        typed = self.fields()
        return NewAgent(
            email=typed["email"],
            name=typed["name"] or typed["email"],
            role=pages.new_agent_role(typed["role"]),
            password=typed["password"] or None,
            team_names=self.teams,
        )


class TokenForm(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role
    agent: str = Field(default="", max_length=20)
    expires: str = Field(default="", max_length=20)
    rate_limit: str = Field(default="", max_length=40)

    def new_token(self, expires_at: datetime | None) -> NewToken:
        return NewToken(
            name=self.name.strip(),
            role=self.role,
            agent_id=int(self.agent) if self.agent.isdigit() else None,
            expires_at=expires_at,
            rate_limit=self.rate_limit.strip() or None,
        )


class NewAgent(TypedDict):
    email: str
    name: str
    role: Role
    password: str | None
    team_names: list[str]


class NewToken(TypedDict):
    name: str
    role: Role
    agent_id: int | None
    expires_at: datetime | None
    rate_limit: str | None


class LoginForm(BaseModel):
    email: str = Field(default="", max_length=320)
    password: str = Field(default="", max_length=1000)
    login_csrf: str = Field(default="", max_length=100)
    next: str = Field(default="/queue", max_length=2000)


class LogoutForm(BaseModel):
    csrf_token: str | None = None


class ArticleForm(BaseModel):
    title: str = ""
    body: str = ""
    internal_notes: str = ""
    kind: str = ""
    status: str = ""
    visibility: str = ""
    tags: str = ""
    version: str = ""

    def fields(self) -> dict[str, str]:
        """As typed (the title trimmed), to fill the editor again after a refusal."""
        return {**self.model_dump(), "title": self.title.strip()}
