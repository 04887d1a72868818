"""Satisfaction over the REST API, for dashboards: one case's survey, and answered surveys.

The paths under `csat` came first; they answer the same as the new ones and are marked
deprecated (docs/glossary.md, "Deprecated names").
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from caredesk.domain.errors import NotFound
from caredesk.services.channels import portal
from caredesk.web.api.common import Call, IdPath
from caredesk.web.api.schemas.satisfaction import SatisfactionReportOut, SatisfactionSurveyOut

router = APIRouter(tags=["satisfaction"])


@router.get("/cases/{case_id}/survey")
@router.get("/cases/{case_id}/csat", deprecated=True)
def case_survey(case_id: IdPath, call: Call) -> SatisfactionSurveyOut:
    """The case's survey: when it was sent, and the score and comment once answered."""
    survey = call.read(portal.case_survey, case_id)
    if survey is None:
        raise NotFound("survey of case", case_id)
    return SatisfactionSurveyOut.of(survey)


@router.get("/satisfaction")
@router.get("/csat", deprecated=True)
def satisfaction_report(
    call: Call, since: datetime | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> SatisfactionReportOut:
    """Answered surveys, newest first, with the average score and the share of 4s and 5s."""
    report = call.read(portal.satisfaction_report, since=since, limit=limit)
    return SatisfactionReportOut.of(report)
