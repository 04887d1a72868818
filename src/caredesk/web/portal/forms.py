"""The portal's forms as typed models: FastAPI reads each with `Annotated[Model, Form()]`,
and a value it cannot read becomes the portal's readable 422 page."""

from __future__ import annotations

from pydantic import BaseModel, Field


class OpenCaseForm(BaseModel):
    csrf_token: str = Field(default="", max_length=100)
    subject: str = Field(default="", max_length=500)
    body: str = Field(default="", max_length=50_000)
    order_id: str = Field(default="", max_length=64)


class ReplyForm(BaseModel):
    csrf_token: str = Field(default="", max_length=100)
    body: str = Field(default="", max_length=50_000)


class RemedyForm(BaseModel):
    csrf_token: str = Field(default="", max_length=100)
    request_key: str = Field(default="", max_length=100)
    reason: str = Field(default="", max_length=100)
    confirm: str = Field(default="", max_length=10)
    item_ids: list[str] | None = Field(default=None, max_length=64)
