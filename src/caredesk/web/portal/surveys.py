"""The satisfaction survey a customer answers from the link in its mail: no sign-in needed,
the link is the credential."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse

from caredesk.services.channels import portal, portal_pages
from caredesk.web.deps import ContainerDep
from caredesk.web.portal.common import (
    LinkSecret,
    PortalRoute,
    render,
)

router = APIRouter(prefix="/portal", route_class=PortalRoute, include_in_schema=False)


# Survey mail sent before the glossary named the survey links them under /portal/csat/: those
# links keep working until they expire (docs/glossary.md, "Deprecated names").


@router.get("/survey/{secret}")
@router.get("/csat/{secret}")
def survey(
    secret: LinkSecret,
    request: Request,
    container: ContainerDep,
    score: Annotated[int | None, Query(ge=1, le=5)] = None,
) -> HTMLResponse:
    """One click from the email records the score; the page then offers a comment."""
    view = portal_pages.survey(
        container.uow, container.uow.read_only, container.clock.now(), secret, score
    )
    return _survey_page(request, view, secret, thanked=score is not None)


@router.post("/survey/{secret}")
@router.post("/csat/{secret}")
def answer_survey(
    secret: LinkSecret,
    request: Request,
    container: ContainerDep,
    score: Annotated[int | None, Form(ge=1, le=5)] = None,
    comment: Annotated[str, Form(max_length=4000)] = "",
) -> HTMLResponse:
    # The secret link is the credential (as in the email): no cookie, so no CSRF to fear.
    view = portal.answer_survey(
        container.uow(), container.clock.now(), secret, score=score, comment=comment
    )
    return _survey_page(request, view, secret, thanked=True, commented=True)


def _survey_page(
    request: Request, view: portal.SurveyView, secret: str, **shown: bool
) -> HTMLResponse:
    return render(
        request, "survey.html", None, view=view, secret=secret, labels=portal.SCORE_LABELS, **shown
    )
