"""CSAT over the REST API, for dashboards: one case's survey, and answered surveys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from caredesk.domain.errors import NotFound
from caredesk.domain.portal import CsatSurvey
from caredesk.services.channels import portal
from caredesk.web.api.common import IdPath
from caredesk.web.api.schemas.csat import CsatOut, CsatReportOut
from caredesk.web.deps import ActorDep, ContainerDep

router = APIRouter(tags=["csat"])


def _out(survey: CsatSurvey) -> CsatOut:
    return CsatOut(
        case_id=survey.case_id,
        customer_id=survey.customer_id,
        sent_at=survey.sent_at,
        expires_at=survey.expires_at,
        score=survey.score,
        comment=survey.comment,
        answered_at=survey.answered_at,
        satisfied=survey.satisfied,
    )


@router.get("/cases/{case_id}/csat")
def case_csat(case_id: IdPath, actor: ActorDep, container: ContainerDep) -> CsatOut:
    """The case's survey: when it was sent, and the score and comment once answered."""
    survey = portal.case_csat(container.uow.read_only(), actor, case_id)
    if survey is None:
        raise NotFound("survey of case", case_id)
    return _out(survey)


@router.get("/csat")
def csat_report(
    actor: ActorDep,
    container: ContainerDep,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> CsatReportOut:
    """Answered surveys, newest first, with the average score and the share of 4s and 5s."""
    report = portal.csat_report(container.uow.read_only(), actor, since=since, limit=limit)
    return CsatReportOut(
        answered=report.answered,
        average=report.average,
        satisfied_share=report.satisfied_share,
        items=[_out(s) for s in report.responses],
    )
