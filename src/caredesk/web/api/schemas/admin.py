"""Teams, agents, API tokens and sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    EmailStr,
    Field,
    StringConstraints,
)

from caredesk.domain.agents import TEAM_NAME_MAX, Agent, Role, Team
from caredesk.domain.rates import RATE_PATTERN
from caredesk.domain.tokens import ApiToken
from caredesk.services.access.auth import AgentChange
from caredesk.web.api.schemas.base import Name, OutOf, SmallId, Strict


class TeamIn(Strict):
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TEAM_NAME_MAX)
    ]


class TeamOut(OutOf[Team]):
    id: int
    name: str


class AgentIn(Strict):
    email: EmailStr
    name: Name
    role: Role
    password: str | None = Field(default=None, min_length=10, max_length=200)
    teams: list[str] = Field(default_factory=list)


class AgentOut(OutOf[Agent]):
    id: int
    email: str
    name: str
    role: Role
    active: bool
    team_ids: list[int]
    time_zone: str | None = Field(description="IANA name; null reads times in the desk's zone.")
    weekly_summary: bool = Field(description="Mailed the weekly summary (leads and admins).")


class AgentChangeIn(Strict):
    """Only the fields sent are changed."""

    time_zone: str | None = Field(
        default=None,
        max_length=64,
        description="IANA name such as 'Europe/Berlin'; null for the desk's zone.",
    )
    weekly_summary: bool | None = Field(
        default=None,
        description="Mail the weekly summary to this lead or admin (refused for other roles).",
    )

    def change(self) -> AgentChange:
        return AgentChange(
            time_zone=self.time_zone,
            keep_time_zone="time_zone" not in self.model_fields_set,
            weekly_summary=self.weekly_summary,
        )


class TokenIn(Strict):
    name: Name
    role: Role
    agent_id: SmallId | None = None
    expires_at: datetime | None = None
    customer_id: str | None = Field(
        default=None, description="Act only for this (verified) customer."
    )
    tools: list[str] | None = Field(
        default=None, description="The tools this token may use; all when omitted."
    )
    rate_limit: str | None = Field(
        default=None,
        pattern=RATE_PATTERN,
        description="Requests this token may make, e.g. '60/minute' (else the desk's default).",
    )


class TokenOut(OutOf[ApiToken]):
    id: int
    name: str
    role: Role
    prefix: str
    agent_id: int | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    customer_id: str | None = None
    tools: list[str] | None = None
    rate_limit: str | None = None

    @classmethod
    def of(cls, source: ApiToken, **converted: Any) -> Self:
        rate = source.rate_limit
        return super().of(source, rate_limit=str(rate) if rate else None, **converted)


class IssuedTokenOut(TokenOut):
    token: str = Field(description="The secret. Shown once; only its hash is stored.")


class LoginIn(Strict):
    email: Annotated[str, StringConstraints(min_length=3, max_length=320)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class SessionOut(BaseModel):
    agent: AgentOut
    csrf_token: str
    expires_at: datetime


class MeOut(BaseModel):
    role: Role
    agent: AgentOut | None
    token_id: int | None
