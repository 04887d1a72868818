"""Request and response bodies of the tool API for AI agents."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from caredesk.services.channels.tools.registry import ToolResult
from caredesk.web.api.schemas.base import Strict


class ToolOut(BaseModel):
    name: str
    description: str
    parameters: dict[str, Any]
    writes: bool


class ToolCallIn(Strict):
    arguments: dict[str, Any] = Field(default_factory=dict)
    confirmed: bool = Field(
        default=False, description="The customer explicitly said yes to this change."
    )


class ToolResultOut(BaseModel):
    status: str = Field(description="done or refused")
    result: Any = None
    code: str | None = None
    rule: str | None = None
    message: str | None = None

    @classmethod
    def of(cls, result: ToolResult) -> ToolResultOut:
        return cls(
            status=result.status,
            result=result.result,
            code=result.code,
            rule=result.rule,
            message=result.message,
        )
