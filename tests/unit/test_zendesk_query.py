"""Zendesk's search language read into a typed query (services/zendesk/query.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from caredesk.domain.cases import CaseStatus as S
from caredesk.domain.cases import Priority as P
from caredesk.domain.errors import ValidationFailed
from caredesk.services.zendesk.query import (
    SearchQuery,
    Term,
    TimeRange,
    check_type,
    parse,
    ticket_criteria,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _criteria(raw: str):  # type: ignore[no-untyped-def]
    return ticket_criteria(parse(raw), NOW)


def test_words_phrases_and_exclusions_are_free_text() -> None:
    query = parse('printer "paper jam" -refund -"gift card"')
    assert query == SearchQuery(("printer", "paper jam"), ("refund", "gift card"), ())


def test_an_unknown_keyword_is_free_text_as_zendesk_reads_it() -> None:
    assert parse("foo:bar").words == ("foo:bar",)
    assert parse("status:").words == ("status:",)


def test_keywords_take_every_operator_and_a_minus() -> None:
    assert parse("status<solved -tags:spam priority>=high").terms == (
        Term("status", "<", "solved"),
        Term("tags", ":", "spam", negated=True),
        Term("priority", ">=", "high"),
    )


def test_tag_is_tags_and_keywords_ignore_case() -> None:
    assert parse("tag:vip Status:open").terms == (
        Term("tags", ":", "vip"),
        Term("status", ":", "open"),
    )


@pytest.mark.parametrize(
    ("raw", "statuses"),
    [
        ("status:open", (S.OPEN,)),
        ("status:hold", (S.ON_HOLD,)),
        ("status<solved", (S.NEW, S.OPEN, S.PENDING, S.ON_HOLD)),
        ("status<=pending", (S.NEW, S.OPEN, S.PENDING)),
        ("status>new", (S.OPEN, S.PENDING, S.ON_HOLD, S.SOLVED, S.CLOSED)),
        ("status>=solved", (S.SOLVED, S.CLOSED)),
        ("status:new status:open", (S.NEW, S.OPEN)),
        ("status<solved -status:new", (S.OPEN, S.PENDING, S.ON_HOLD)),
        ("status>pending status<closed", (S.ON_HOLD, S.SOLVED)),
        ("printer", (S.NEW, S.OPEN, S.PENDING, S.ON_HOLD, S.SOLVED, S.CLOSED)),
    ],
)
def test_statuses_compare_in_zendesks_order(raw: str, statuses: tuple[S, ...]) -> None:
    assert _criteria(raw).statuses == statuses


@pytest.mark.parametrize(
    ("raw", "priorities"),
    [
        ("priority:high", (P.HIGH,)),
        ("priority>normal", (P.HIGH, P.URGENT)),
        ("priority<high", (P.LOW, P.NORMAL)),
        ("-priority:low", (P.NORMAL, P.HIGH, P.URGENT)),
    ],
)
def test_priorities_compare_low_to_urgent(raw: str, priorities: tuple[P, ...]) -> None:
    assert _criteria(raw).priorities == priorities


def test_tags_are_either_or_and_a_minus_excludes() -> None:
    found = _criteria("tags:VIP tag:gold -tags:spam")
    assert (found.tags_any, found.tags_none) == (("vip", "gold"), ("spam",))


def test_people_and_groups_are_kept_as_typed() -> None:
    found = _criteria("requester:ann@example.com assignee:none group:Billing")
    assert (found.requester, found.assignee, found.group) == ("ann@example.com", "none", "Billing")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("created>2026-01-01", TimeRange(datetime(2026, 1, 2, tzinfo=UTC), None)),
        ("created>=2026-01-01", TimeRange(datetime(2026, 1, 1, tzinfo=UTC), None)),
        ("created<2026-01-01", TimeRange(None, datetime(2026, 1, 1, tzinfo=UTC))),
        ("created<=2026-01-01", TimeRange(None, datetime(2026, 1, 2, tzinfo=UTC))),
        (
            "created:2026-01-01",
            TimeRange(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)),
        ),
        ("created>3days", TimeRange(NOW - timedelta(days=3), None)),
        ("created<2hours", TimeRange(None, NOW - timedelta(hours=2))),
        ("created>1week", TimeRange(NOW - timedelta(days=7), None)),
        (
            "created>2026-01-01T10:00:00Z created<2026-02-01",
            TimeRange(datetime(2026, 1, 1, 10, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)),
        ),
    ],
)
def test_dates_days_times_and_spans(raw: str, expected: TimeRange) -> None:
    assert _criteria(raw).created == expected


def test_updated_is_read_as_created_is() -> None:
    assert _criteria("updated<2026-01-01").updated == TimeRange(
        None, datetime(2026, 1, 1, tzinfo=UTC)
    )


def test_free_text_joins_the_words_and_keeps_the_exclusions() -> None:
    found = _criteria('status:open printer "paper jam" -refund')
    assert (found.text, found.excluded_words) == ("printer paper jam", ("refund",))


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "status:urgent",
        "priority:pending",
        "created>tomorrow",
        "created:2026-13-01",
        "-created>2026-01-01",
        "requester:a@example.com requester:b@example.com",
        "assignee>3",
        "tags>x",
        "x" * 1001,
    ],
)
def test_a_query_the_language_cannot_hold_is_refused(raw: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _criteria(raw)
    assert refused.value.details == {"field": "query"}


@pytest.mark.parametrize(
    ("raw", "kind"), [("printer", "ticket"), ("type:ticket x", "ticket"), ("type:user ann", "user")]
)
def test_the_type_searched_is_ticket_unless_user_is_asked(raw: str, kind: str) -> None:
    assert check_type(parse(raw)) == kind


@pytest.mark.parametrize("raw", ["type:organization", "type:ticket type:user", "-type:ticket"])
def test_a_type_not_searched_is_refused(raw: str) -> None:
    with pytest.raises(ValidationFailed):
        check_type(parse(raw))
