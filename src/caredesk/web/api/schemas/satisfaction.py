"""Response bodies of customer satisfaction surveys."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Self

from caredesk.domain.portal import SatisfactionSurvey
from caredesk.services.channels.portal import SatisfactionReport
from caredesk.web.api.schemas.base import OutOf


class SatisfactionSurveyOut(OutOf[SatisfactionSurvey]):
    case_id: int
    customer_id: str
    sent_at: datetime
    expires_at: datetime
    score: int | None
    comment: str
    answered_at: datetime | None
    satisfied: bool | None


class SatisfactionReportOut(OutOf[SatisfactionReport]):
    answered: int
    average: Decimal | None
    satisfied_share: Decimal | None
    items: list[SatisfactionSurveyOut]

    @classmethod
    def of(cls, source: SatisfactionReport, **converted: Any) -> Self:
        return super().of(source, items=source.responses, **converted)
