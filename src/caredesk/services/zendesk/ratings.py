"""Satisfaction ratings: the desk's satisfaction surveys, with the cases they rate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.cases import Case
from caredesk.domain.errors import NotFound
from caredesk.domain.portal import SatisfactionSurvey
from caredesk.services.cases.ports import HasCases
from caredesk.services.core.ports import Transaction
from caredesk.services.core.reads import read
from caredesk.services.zendesk.ports import HasRatings


class RatingsUnit(HasRatings, HasCases, Transaction, Protocol):
    """The surveys and the cases they rate."""


@dataclass(frozen=True, slots=True)
class Rating:
    survey: SatisfactionSurvey
    case: Case | None

    @property
    def score(self) -> str:
        """Zendesk's two answers: 4 and 5 are good (the desk's `satisfied`), 1 to 3 bad; a
        survey sent and not answered is offered."""
        satisfied = self.survey.satisfied
        if satisfied is None:
            return "offered"
        return "good" if satisfied else "bad"


def _rated(uow: RatingsUnit, surveys: list[SatisfactionSurvey]) -> list[Rating]:
    by_id = {c.id: c for c in uow.cases.many({s.case_id for s in surveys})}
    return [Rating(s, by_id.get(s.case_id)) for s in surveys]


def ratings(uow: RatingsUnit, actor: Actor, after_id: int, limit: int) -> tuple[list[Rating], int]:
    """Up to `limit` ratings of ids above `after_id`, by id, and how many there are."""
    return read(
        uow,
        actor,
        Permission.READ,
        lambda u: (_rated(u, u.zendesk_ratings.page(after_id, limit)), u.zendesk_ratings.count()),
    )


def rating(uow: RatingsUnit, actor: Actor, survey_id: int) -> Rating:
    def find(u: RatingsUnit) -> Rating:
        survey = u.zendesk_ratings.get(survey_id)
        if survey is None:
            raise NotFound("satisfaction_rating", survey_id)
        return _rated(u, [survey])[0]

    return read(uow, actor, Permission.READ, find)
