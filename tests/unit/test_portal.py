"""The portal's records: a sign-in link is used once and before it expires; a survey takes
a score from 1 to 5 and a short comment while it is open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.domain.portal import SatisfactionSurvey, SignInRequest, email_key

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _link(customer_id: str | None = "maya") -> SignInRequest:
    return SignInRequest(
        id=1,
        email_key=email_key("maya@example.com"),
        client_key="c",
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=15),
        customer_id=customer_id,
        token_hash="h" if customer_id else None,
    )


def test_a_link_signs_in_once() -> None:
    link = _link()
    assert link.redeem(NOW + timedelta(minutes=1)) == "maya"
    with pytest.raises(DomainError) as again:
        link.redeem(NOW + timedelta(minutes=2))
    assert again.value.code is ErrorCode.TOKEN_REVOKED


def test_a_link_expires() -> None:
    with pytest.raises(DomainError) as late:
        _link().redeem(NOW + timedelta(minutes=15))
    assert late.value.code is ErrorCode.TOKEN_EXPIRED


def test_a_request_for_an_unknown_address_signs_nobody_in() -> None:
    with pytest.raises(DomainError) as nobody:
        _link(customer_id=None).redeem(NOW)
    assert nobody.value.code is ErrorCode.TOKEN_INVALID


def test_addresses_count_under_one_key_whatever_their_case() -> None:
    assert email_key(" Maya@Example.com ") == email_key("maya@example.com")
    assert "maya" not in email_key("maya@example.com")


def _survey() -> SatisfactionSurvey:
    return SatisfactionSurvey(
        id=1,
        case_id=7,
        customer_id="maya",
        token_hash="h",
        sent_at=NOW,
        expires_at=NOW + timedelta(days=14),
    )


def test_a_survey_records_a_score_then_a_comment() -> None:
    survey = _survey()
    survey.answer(NOW, 4, None)
    assert (survey.score, survey.satisfied, survey.answered_at) == (4, True, NOW)
    survey.answer(NOW + timedelta(hours=1), None, "  Quick and kind.  ")
    assert (survey.score, survey.comment) == (4, "Quick and kind.")
    survey.answer(NOW + timedelta(hours=2), 2, None)
    assert survey.satisfied is False


@pytest.mark.parametrize("score", [0, 6, -1])
def test_a_score_is_one_to_five(score: int) -> None:
    with pytest.raises(DomainError) as bad:
        _survey().answer(NOW, score, None)
    assert bad.value.code is ErrorCode.VALIDATION_ERROR


def test_a_comment_alone_needs_a_score_first_and_stays_short() -> None:
    survey = _survey()
    with pytest.raises(DomainError):
        survey.answer(NOW, None, "no score")
    with pytest.raises(DomainError):
        survey.answer(NOW, 5, "x" * 2001)
    # A refused answer changes nothing.
    assert (survey.score, survey.comment, survey.answered_at) == (None, "", None)


def test_a_closed_survey_takes_no_answer() -> None:
    survey = _survey()
    with pytest.raises(DomainError) as late:
        survey.answer(NOW + timedelta(days=14), 5, None)
    assert late.value.code is ErrorCode.TOKEN_EXPIRED
    assert survey.score is None
