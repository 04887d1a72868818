"""The reports' filters: parsed from a query string, refused with what is allowed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from caredesk.domain.cases import Channel, Priority
from caredesk.domain.errors import ValidationFailed
from caredesk.services.reports.filters import FILTER_NAMES, ReportFilter, parse_filters
from caredesk.services.reports.measures import BY_NAME, CATALOGUE, check_grouping

TODAY = date(2026, 3, 31)


def test_without_a_period_the_last_thirty_days_up_to_today() -> None:
    filters = parse_filters({}, TODAY)
    assert (filters.start, filters.end, filters.days) == (date(2026, 3, 2), TODAY, 30)


def test_every_filter_is_read_and_written_back_the_same() -> None:
    params = {
        "start": "2026-01-01", "end": "2026-03-31", "team": "2", "agent": "7",
        "channel": "email", "priority": "urgent", "tag": "Wrong-Item", "remedy": "refund-full",
    }  # fmt: skip
    filters = parse_filters(params, TODAY)
    assert filters == ReportFilter(
        date(2026, 1, 1), date(2026, 3, 31), 2, 7, Channel.EMAIL, Priority.URGENT,
        "wrong-item", "refund-full",
    )  # fmt: skip
    assert dict(filters.query()) == {**params, "tag": "wrong-item"}
    assert parse_filters(dict(filters.query()), TODAY) == filters


def test_none_names_the_cases_of_no_team_or_of_no_agent() -> None:
    filters = parse_filters({"team": "none", "agent": "none"}, TODAY)
    assert (filters.team_id, filters.no_team, filters.agent_id, filters.unassigned) == (
        None, True, None, True,
    )  # fmt: skip
    selected = filters.case_filter()
    assert (selected.no_team, selected.unassigned) == (True, True)
    assert parse_filters(dict(filters.query()), TODAY) == filters
    # An agent's own report is their cases, whatever agent the filters named.
    mine = filters.for_agent(7)
    assert (mine.agent_id, mine.unassigned, dict(mine.query())["agent"]) == (7, False, "7")


def test_a_period_of_a_whole_leap_year_and_a_day_is_the_longest() -> None:
    assert parse_filters({"start": "2024-01-01", "end": "2024-12-31"}, TODAY).days == 366
    with pytest.raises(ValidationFailed) as refused:
        parse_filters({"start": "2025-01-01", "end": "2026-01-02"}, TODAY)
    assert refused.value.details == {"field": "end", "allowed": "at most 366 days"}


@pytest.mark.parametrize(
    ("params", "field", "allowed"),
    [
        ({"start": "2026-03-05", "end": "2026-03-04"}, "start", "start on or before end"),
        ({"start": "5 March"}, "start", "a day as YYYY-MM-DD"),
        ({"channel": "fax"}, "channel", [c.value for c in Channel]),
        ({"priority": "asap"}, "priority", [p.value for p in Priority]),
        ({"team": "0"}, "team", "a positive whole number, or none"),
        ({"agent": "kim"}, "agent", "a positive whole number, or none"),
        ({"remedy": "refund full"}, "remedy", "lower-case letters, digits and _ . : -"),
        ({"since": "2026-01-01"}, "since", list(FILTER_NAMES)),
    ],
)
def test_bad_filters_are_refused_with_what_is_allowed(
    params: dict[str, str], field: str, allowed: object
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_filters(params, TODAY)
    assert refused.value.details == {"field": field, "allowed": allowed}


def test_a_measure_is_grouped_only_as_it_allows() -> None:
    check_grouping(BY_NAME["grants"], "approver")
    with pytest.raises(ValidationFailed) as refused:
        check_grouping(BY_NAME["cases_opened"], "remedy")
    assert refused.value.details == {
        "field": "group_by",
        "allowed": list(BY_NAME["cases_opened"].group_by),
    }


def test_every_measure_is_defined_in_a_sentence_or_more() -> None:
    assert len(BY_NAME) == len(CATALOGUE)
    for measure in CATALOGUE:
        assert measure.definition.endswith(".") and "  " not in measure.definition


def test_docs_reporting_shows_every_definition_word_for_word() -> None:
    docs = " ".join((Path(__file__).parents[2] / "docs" / "reporting.md").read_text().split())
    for measure in CATALOGUE:
        groupings = ", ".join(f"`{g}`" for g in measure.group_by)
        assert (
            f"`{measure.name}` — {measure.title} Unit: {measure.unit}. Groupings: {groupings}."
            in docs
        )
        assert measure.definition in docs, measure.name
