"""Response bodies of customer satisfaction surveys."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel


class SatisfactionSurveyOut(BaseModel):
    case_id: int
    customer_id: str
    sent_at: datetime
    expires_at: datetime
    score: int | None
    comment: str
    answered_at: datetime | None
    satisfied: bool | None


class SatisfactionReportOut(BaseModel):
    answered: int
    average: Decimal | None
    satisfied_share: Decimal | None
    items: list[SatisfactionSurveyOut]
