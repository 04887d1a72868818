"""/api/v2 satisfaction ratings: the desk's satisfaction surveys in Zendesk's shape."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM
from caredesk.domain.portal import SatisfactionSurvey
from caredesk.services.cases import cases
from tests.conftest import ManualClock
from tests.integration.test_zendesk_foundation import _agent, _refusal

# The shapes of the surveys as ratings; the surveys' storage is tested on both backends.
pytestmark = pytest.mark.one_backend

Headers = dict[str, str]


def _survey(
    container: Container,
    clock: ManualClock,
    customer: dict[str, Any],
    score: int | None,
    **case: Any,
) -> int:
    now = clock.now()
    view = cases.create_case(
        container.uow(), SYSTEM, now, customer_id=customer["id"], subject="Lamp", **case
    )
    assert view.case.id is not None
    survey = SatisfactionSurvey(
        id=None,
        case_id=view.case.id,
        customer_id=customer["id"],
        token_hash=f"h{view.case.id}",
        sent_at=now,
        expires_at=now + timedelta(days=7),
    )
    if score is not None:
        survey.answer(now + timedelta(hours=1), score, f"scored {score}")
    with container.uow() as uow:
        uow.portal.add_survey(survey)
        uow.commit()
    assert survey.id is not None
    return survey.id


@pytest.mark.parametrize(
    ("score", "zendesk"), [(5, "good"), (4, "good"), (3, "bad"), (1, "bad"), (None, "offered")]
)
def test_a_rating_is_the_survey_with_its_score_read_as_good_or_bad(
    client: TestClient,
    container: Container,
    clock: ManualClock,
    agent: Headers,
    customer: dict[str, Any],
    score: int | None,
    zendesk: str,
) -> None:
    zoe = _agent(container)
    survey_id = _survey(container, clock, customer, score, assignee_id=zoe)
    response = client.get(f"/api/v2/satisfaction_ratings/{survey_id}.json", headers=agent)
    assert response.status_code == 200, response.text
    rating = response.json()["satisfaction_rating"]
    assert (rating["id"], rating["score"]) == (survey_id, zendesk)
    assert rating["comment"] == (None if score is None else f"scored {score}")
    ticket = client.get(f"/api/v2/tickets/{rating['ticket_id']}.json", headers=agent).json()
    assert rating["requester_id"] == ticket["ticket"]["requester_id"]
    assert rating["assignee_id"] == ticket["ticket"]["assignee_id"] is not None
    assert rating["url"].endswith(f"/api/v2/satisfaction_ratings/{survey_id}.json")
    assert rating["created_at"].endswith("Z") and rating["group_id"] is None


def test_ratings_page_by_offset_and_by_cursor(
    client: TestClient,
    container: Container,
    clock: ManualClock,
    agent: Headers,
    customer: dict[str, Any],
) -> None:
    made = [_survey(container, clock, customer, s) for s in (5, 2, None)]
    first = client.get("/api/v2/satisfaction_ratings.json?per_page=2", headers=agent).json()
    assert [r["id"] for r in first["satisfaction_ratings"]] == made[:2] and first["count"] == 3
    second = client.get(first["next_page"], headers=agent).json()
    assert [r["id"] for r in second["satisfaction_ratings"]] == made[2:]
    assert second["next_page"] is None
    cursor = client.get("/api/v2/satisfaction_ratings.json?page[size]=2", headers=agent).json()
    assert [r["id"] for r in cursor["satisfaction_ratings"]] == made[:2]
    assert cursor["meta"]["has_more"] is True
    rest = client.get(cursor["links"]["next"], headers=agent).json()
    assert [r["id"] for r in rest["satisfaction_ratings"]] == made[2:]
    assert rest["meta"]["has_more"] is False


def test_a_missing_rating_or_a_bad_cursor_is_refused(client: TestClient, agent: Headers) -> None:
    for missing in (999999, 2**70):
        url = f"/api/v2/satisfaction_ratings/{missing}.json"
        _refusal(client.get(url, headers=agent), 404, "RecordNotFound")
    bad = client.get("/api/v2/satisfaction_ratings.json?page[after]=x", headers=agent)
    assert "page[after]" in _refusal(bad, 422, "RecordInvalid")["details"]
