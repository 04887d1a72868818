"""Satisfaction surveys: mailed once a case is solved, answered by one click, reported."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.cases import Case
from caredesk.domain.customers import Customer
from caredesk.domain.errors import DomainError, ErrorCode, NotFound, must_exist
from caredesk.domain.portal import SatisfactionSurvey
from caredesk.services.access.secrets import hash_secret
from caredesk.services.channels.portal.customer_mail import (
    SURVEY_TEMPLATE,
    CustomerMail,
    CustomerMailer,
)
from caredesk.services.channels.portal.sign_in import portal_actor
from caredesk.services.channels.unit import PortalUnit
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command


@command
def send_survey(
    uow: PortalUnit,
    mailer: CustomerMailer,
    now: datetime,
    case_id: int,
    *,
    link_for: Callable[[str, int | None], str],
    valid_for: timedelta,
) -> SatisfactionSurvey | None:
    """Mail the satisfaction survey of a solved case, once. None when there is nobody to ask
    (no address) or the case already has its survey."""
    with uow:
        case = must_exist(uow.cases.get(case_id), "case", case_id)
        if case.solved_at is None:
            raise DomainError(
                "a survey is sent once the case is solved",
                code=ErrorCode.INVALID_TRANSITION,
                details={"status": case.status.value},
            )
        if uow.portal.survey_for_case(case_id) is not None:
            return None
        customer = uow.customers.get(case.customer_id)
        if customer is None or not customer.emails:
            return None
        secret = secrets.token_urlsafe(32)
        survey = SatisfactionSurvey(
            id=None,
            case_id=case_id,
            customer_id=case.customer_id,
            token_hash=hash_secret(secret),
            sent_at=now,
            expires_at=now + valid_for,
            comment="",
        )
        uow.portal.add_survey(survey)
        mailer.send(uow, _survey_mail(case, customer, secret, link_for), now)
        publish_change(
            uow,
            portal_actor(case.customer_id),
            now,
            "survey.sent",
            "case",
            case_id,
            case_id=case_id,
        )
        uow.commit()
        return survey


def _survey_mail(
    case: Case, customer: Customer, secret: str, link_for: Callable[[str, int | None], str]
) -> CustomerMail:
    """The survey by mail: a link per score, best first, and the survey page for a comment."""
    choices = "\n".join(
        f"  {score} - {label}: {link_for(secret, score)}"
        for score, label in reversed(list(enumerate(SCORE_LABELS, start=1)))
    )
    return CustomerMail(
        customer_id=case.customer_id,
        to=customer.emails[0],
        subject="How did we do?",
        text=(
            f"Your case \u201c{case.subject}\u201d is solved. How did we do? "
            f"One click records your answer:\n\n{choices}\n\n"
            "Or choose on the survey page, where you can also add a comment:"
        ),
        link=link_for(secret, None),
        template=SURVEY_TEMPLATE,
        customer_name=customer.first_name,
        case_id=case.id,
    )


SCORE_LABELS = ("very unhappy", "unhappy", "neutral", "happy", "very happy")


def survey_links(portal_url: str) -> Callable[[str, int | None], str]:
    """Survey links under the portal's address: the page, or the page with a score chosen."""
    base = portal_url.rstrip("/")

    def link(secret: str, score: int | None) -> str:
        return f"{base}/survey/{secret}" + (f"?score={score}" if score is not None else "")

    return link


def send_due_surveys(
    uow: Callable[[], PortalUnit],
    mailer: CustomerMailer,
    now: datetime,
    *,
    link_for: Callable[[str, int | None], str],
    valid_for: timedelta,
    solved_within: timedelta = timedelta(days=7),
    limit: int = 200,
) -> int:
    """Send the survey of every case solved lately that has none yet; returns how many.

    Run from a worker's timer or `caredesk portal send-surveys`; each survey is its own
    transaction, so one failure does not hold back the others.
    """
    with uow() as read:
        due = read.portal.solved_without_survey(solved_since=now - solved_within, limit=limit)
    sent = 0
    for item in due:
        try:
            survey = send_survey(
                uow(), mailer, now, item.case_id, link_for=link_for, valid_for=valid_for
            )
        except DomainError:
            continue
        sent += survey is not None
    return sent


@dataclass(frozen=True, slots=True)
class SurveyView:
    survey: SatisfactionSurvey
    case_subject: str


def open_survey(uow: PortalUnit, secret: str) -> SurveyView:
    with uow:
        survey = must_exist(uow.portal.survey_by_hash(hash_secret(secret)), "survey", "link")
        case = uow.cases.get(survey.case_id)
        return SurveyView(survey, case.subject if case else "")


@command
def answer_survey(
    uow: PortalUnit, now: datetime, secret: str, *, score: int | None, comment: str | None
) -> SurveyView:
    """Record the score (one click from the mail) and later an optional comment; audited on
    the case. The link is the credential: it works without signing in, until it closes."""
    with uow:
        survey = must_exist(uow.portal.survey_by_hash(hash_secret(secret)), "survey", "link")
        before = {"score": survey.score, "comment": survey.comment}
        survey.answer(now, score, comment)
        uow.portal.save_survey(survey)
        publish_change(
            uow,
            portal_actor(survey.customer_id),
            now,
            "survey.answered",
            "case",
            survey.case_id,
            case_id=survey.case_id,
            before=before,
            after={"score": survey.score, "comment": survey.comment},
        )
        case = uow.cases.get(survey.case_id)
        uow.commit()
        return SurveyView(survey, case.subject if case else "")


def case_survey(uow: PortalUnit, actor: Actor, case_id: int) -> SatisfactionSurvey | None:
    actor.require(Permission.READ)
    with uow:
        if uow.cases.get(case_id) is None:
            raise NotFound("case", case_id)
        return uow.portal.survey_for_case(case_id)


@dataclass(frozen=True, slots=True)
class SatisfactionReport:
    responses: list[SatisfactionSurvey]
    answered: int
    average: Decimal | None
    satisfied_share: Decimal | None


def satisfaction_report(
    uow: PortalUnit, actor: Actor, *, since: datetime | None, limit: int
) -> SatisfactionReport:
    """Answered surveys, newest first, with the average score and the satisfied share (4s and 5s)
    over the responses returned."""
    actor.require(Permission.READ)
    with uow:
        responses = uow.portal.surveys(answered_since=since, limit=limit)
    scores = [s.score for s in responses if s.score is not None]
    if not scores:
        return SatisfactionReport(responses, 0, None, None)
    average = (Decimal(sum(scores)) / len(scores)).quantize(Decimal("0.01"))
    share = (Decimal(sum(1 for s in scores if s >= 4)) / len(scores)).quantize(Decimal("0.001"))
    return SatisfactionReport(responses, len(scores), average, share)
