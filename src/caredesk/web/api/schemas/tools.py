"""Request and response bodies of the tool API for AI agents."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from caredesk.services.channels.tools.registry import ToolResult
from caredesk.web.api.schemas.base import OutOf, Strict


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


class ToolResultOut(OutOf[ToolResult]):
    status: str = Field(description="done or refused")
    result: Any = None
    code: str | None = None
    rule: str | None = None
    message: str | None = None
