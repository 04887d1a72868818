"""Reports over a small hand-made history whose answers are known: three cases of one customer,
replies at known times, a reopen, two surveys, a bundle of two remedies whose ledger postings
are the refund's alone, and an approval decided four hours after it was asked."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Role
from caredesk.domain.portal import SatisfactionSurvey
from caredesk.services.console import console, pages
from caredesk.services.reports import reports
from caredesk.services.reports.filters import parse_filters
from caredesk.services.reports.measures import CATALOGUE
from tests import factories
from tests.integration.statements import statements_sent

Headers = dict[str, str]
DAY = "2026-03-02"  # the clock's first day (tests/conftest.py)


def _store(container: Container) -> None:
    now = container.clock.now()
    factories.store(
        container,
        factories.customer("maya", now, last_name="Hart", email="maya@example.com"),
        factories.product(
            "dress",
            "Girls' dress",
            factories.variant("dress-6", "dress", "24.00", "9.00", size="6"),
            factories.variant("dress-8", "dress", "26.00", "10.00", size="8"),
        ),
        factories.order(
            "W1",
            "maya",
            now,
            factories.line("dress-6", "dress", "Girls' dress", "24.00"),
            factories.line("dress-8", "dress", "Girls' dress", "26.00"),
            tracking="1Z999",
            delivered=timedelta(days=1),
            placed=timedelta(days=6),
        ),
        factories.order(
            "W2",
            "maya",
            now,
            factories.line("dress-8", "dress", "Girls' dress, boutique", "150.00"),
            placed=timedelta(days=3),
        ),
    )


class Desk:
    def __init__(self, client: TestClient, container: Container, kim: Headers, lead: Headers):
        self.client, self.container, self.kim, self.lead = client, container, kim, lead

    def at(self, hours: float) -> None:
        """Move the clock to `hours` after 09:00 of the first day."""
        start = self.container.clock.now().replace(hour=9, minute=0, second=0, microsecond=0)
        self.container.clock.current = start + timedelta(hours=hours)  # type: ignore[attr-defined]

    def post(self, url: str, body: dict[str, Any], headers: Headers | None = None) -> Any:
        response = self.client.post(url, json=body, headers=headers or self.kim)
        assert response.status_code in (200, 201, 202), response.text
        return response.json()

    def case(self, order: str, issue: str, **fields: Any) -> int:
        body = {"customer_id": "maya", "subject": f"About {order}", "body": "Help, please."}
        body |= {"order_ids": [order], "custom_fields": {"issue_type": issue}, **fields}
        case_id: int = self.post("/api/v1/cases", body)["id"]
        return case_id

    def reply(self, case_id: int, kind: str = "outbound", body: str = "Noted.") -> None:
        self.post(f"/api/v1/cases/{case_id}/messages", {"kind": kind, "body": body})

    def status(self, case_id: int, status: str) -> None:
        self.post(f"/api/v1/cases/{case_id}/status", {"status": status})

    def survey(self, case_id: int, score: int | None) -> None:
        now = self.container.clock.now()
        with self.container.uow() as uow:
            survey = SatisfactionSurvey(
                None, case_id, "maya", f"hash-{case_id}", now, now + timedelta(days=7)
            )
            if score is not None:
                survey.answer(now, score, None)
            uow.portal.add_survey(survey)
            uow.commit()


@pytest.fixture
def history(
    client: TestClient, container: Container, admin: Headers, token_for: Callable[..., Headers]
) -> dict[str, Any]:
    """Four cases opened at 09:00 of a Monday, under SLA targets of 90 working minutes to
    the first reply, 30 to the next and 5 hours to resolution, in office hours 09:00-17:00:
    - wrong (W1): replied at 2h asking for the order number (a repeat ask), granted a refund
      and keep-the-item at 2h (the grant's notice is a second reply), solved at 3h, rated 5;
    - big (W2): replied at 1h, a refund asked of a lead at 1h and denied at 5h, solved at 6h,
      the customer wrote at 7h (reopened), replied at 8h, solved at 9h, rated 3;
    - quiet (high priority): replied at 4h, solved at 4.5h, survey unanswered;
    - waiting: never answered."""
    _store(container)
    made = client.post(
        "/api/v1/agents",
        json={"email": "kim@desk.example", "name": "Kim", "role": "agent"},
        headers=admin,
    )
    kim_id = made.json()["id"]
    desk = Desk(client, container, token_for(Role.AGENT, kim_id), token_for(Role.LEAD))
    week = {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
    calendar = desk.post(
        "/api/v1/calendars", {"name": "Office", "timezone": "UTC", "hours": week}, admin
    )
    targets = {"first_reply": 90, "next_reply": 30, "resolution": 300}
    sla = {"name": "All", "targets": targets, "calendar_id": calendar["id"]}
    desk.post("/api/v1/sla-policies", sla, admin)
    desk.at(0)
    wrong, big = desk.case("W1", "wrong_item"), desk.case("W2", "damaged")
    quiet, waiting = desk.case("W1", "question", priority="high"), desk.case("W2", "question")
    for case_id in (wrong, big, quiet, waiting):
        desk.post(f"/api/v1/cases/{case_id}/assignment", {"assignee_id": kim_id})
    desk.at(1)
    desk.reply(big)
    desk.post(f"/api/v1/cases/{big}/grants", {"remedies": ["refund-full"]})
    desk.at(2)
    desk.reply(wrong, body="Could you send me your order number?")
    bundle = {**desk.kim, "Idempotency-Key": "bundle"}
    desk.post(f"/api/v1/cases/{wrong}/grants", {"remedies": ["refund-full", "keep-item"]}, bundle)
    desk.at(3)
    desk.status(wrong, "solved")
    desk.survey(wrong, 5)
    desk.at(4)
    desk.reply(quiet)
    desk.at(4.5)
    desk.status(quiet, "solved")
    desk.survey(quiet, None)
    desk.at(5)
    approval = desk.client.get("/api/v1/approvals", headers=desk.lead).json()[0]
    desk.post(f"/api/v1/approvals/{approval['id']}/deny", {"note": "Not this time."}, desk.lead)
    desk.at(6)
    desk.status(big, "solved")
    desk.at(7)
    desk.reply(big, "inbound")
    desk.at(8)
    desk.reply(big)
    desk.at(9)
    desk.status(big, "solved")
    desk.survey(big, 3)
    return {"kim": kim_id, "cases": (wrong, big, quiet, waiting)}


def _report(client: TestClient, headers: Headers, measure: str, **params: str) -> Any:
    response = client.get(
        f"/api/v1/reports/{measure}", params={"start": DAY, "end": DAY, **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def _values(client: TestClient, headers: Headers, measure: str, **params: str) -> Any:
    figures = _report(client, headers, measure, **params)["figures"]
    return {f["group"]: f["values"] for f in figures}


KNOWN: dict[str, dict[str, Any]] = {
    "cases_opened": {"cases": 4, "value": 4},
    "cases_solved": {"cases": 4, "value": 3},
    "cases_reopened": {"cases": 4, "value": 1},
    "reopen_rate": {"cases": 4, "value": 0.3333, "of": 3},
    # wrong had two replies (the grant's notice is one), big two, quiet one.
    "one_touch_resolution": {"cases": 4, "value": 0.3333, "of": 3},
    # big's customer wrote again after the first reply, and it was reopened.
    "first_contact_resolution": {"cases": 4, "value": 0.6667, "of": 3},
    # 1h, 2h, 4h: the middle one, and the 3rd of 3 (ceil(0.9 * 3)), all in office hours.
    "first_reply_time": {
        "cases": 3, "median_hours": 2.0, "p90_hours": 4.0,
        "business_cases": 3, "business_median_hours": 2.0, "business_p90_hours": 4.0,
    },
    # 3h, 4.5h, 9h (big solved again at 18:00, an hour after the office closed: 8 working hours).
    "resolution_time": {
        "cases": 3, "median_hours": 4.5, "p90_hours": 9.0,
        "business_cases": 3, "business_median_hours": 4.5, "business_p90_hours": 8.0,
    },
    "sla_attainment": {
        # Only big's first reply came within 90 minutes; waiting's clock still runs.
        "first_reply_decided": 3, "first_reply_met": 1, "first_reply_share_met": 0.3333,
        "next_reply_decided": 1, "next_reply_met": 0, "next_reply_share_met": 0.0,
        # big was first solved after 6h, over the 5 hours.
        "resolution_decided": 3, "resolution_met": 2, "resolution_share_met": 0.6667,
    },
    "satisfaction": {
        "sent": 3, "answered": 2, "positive": 1, "response_rate": 0.6667, "share_positive": 0.5,
        "average_score": 4.0,
    },
    "escalations": {
        "requested": 1, "approved": 0, "denied": 1,
        "wait_decided": 1, "wait_median_hours": 4.0, "wait_p90_hours": 4.0,
    },
    "approval_wait": {"decided": 1, "median_hours": 4.0, "p90_hours": 4.0},
    "repeat_asks": {"asks": 1, "cases_with_asks": 1},
    # The denied refund was never executed; the bundle cost its refund's posting.
    "grants": {"grants": 1, "cost": "50.00"},
    "service_level_mix": {"solved": 3, "level_1": 2, "level_2": 0, "level_3": 1},
}  # fmt: skip


def test_every_measure_has_its_known_value(
    client: TestClient, history: dict[str, Any], admin: Headers
) -> None:
    catalogue = client.get("/api/v1/reports", headers=admin).json()
    assert [m["name"] for m in catalogue["measures"]] == list(KNOWN)
    for name, expected in KNOWN.items():
        report = _report(client, admin, name)
        assert report["cases"] == 4, name
        assert [f["group"] for f in report["figures"]] == [None], name
        assert report["figures"][0]["values"] == expected, name
        assert report["figures"][0]["cases_url"] == f"/queue?view=all&start={DAY}&end={DAY}"


def test_grouped_figures_and_their_queues(
    client: TestClient, history: dict[str, Any], admin: Headers
) -> None:
    by_priority = _report(client, admin, "first_reply_time", group_by="priority")["figures"]
    assert {f["group"]: f["values"] for f in by_priority} == {
        "high": {
            "cases": 1,
            "median_hours": 4.0,
            "p90_hours": 4.0,
            "business_cases": 1,
            "business_median_hours": 4.0,
            "business_p90_hours": 4.0,
        },
        # 1h and 2h: the mean of the two, and the 2nd of 2.
        "normal": {
            "cases": 2,
            "median_hours": 1.5,
            "p90_hours": 2.0,
            "business_cases": 2,
            "business_median_hours": 1.5,
            "business_p90_hours": 2.0,
        },
    }
    assert by_priority[0]["cases_url"] == (f"/queue?view=all&start={DAY}&end={DAY}&priority=high")
    # Each remedy costs its own postings: keep-the-item posted nothing, so it cost nothing.
    assert _values(client, admin, "grants", group_by="remedy") == {
        "keep-item": {"grants": 1, "cost": "0.00"},
        "refund-full": {"grants": 1, "cost": "50.00"},
    }
    assert _values(client, admin, "grants", group_by="approver") == {
        None: {"grants": 1, "cost": "50.00"}
    }
    assert _values(client, admin, "satisfaction", group_by="remedy") == {
        remedy: {"sent": 1, "answered": 1, "positive": 1, "response_rate": 1.0,
                 "share_positive": 1.0, "average_score": 5.0}
        for remedy in ("keep-item", "refund-full")
    }  # fmt: skip
    kim = str(history["kim"])
    assert _values(client, admin, "cases_solved", group_by="agent") == {
        kim: {"cases": 4, "value": 3}
    }
    assert _values(client, admin, "sla_attainment", group_by="priority") == {
        "high": {"first_reply_decided": 1, "first_reply_met": 0, "first_reply_share_met": 0.0,
                 "resolution_decided": 1, "resolution_met": 1, "resolution_share_met": 1.0},
        "normal": {"first_reply_decided": 2, "first_reply_met": 1, "first_reply_share_met": 0.5,
                   "next_reply_decided": 1, "next_reply_met": 0, "next_reply_share_met": 0.0,
                   "resolution_decided": 2, "resolution_met": 1, "resolution_share_met": 0.5},
    }  # fmt: skip
    assert _values(client, admin, "repeat_asks", group_by="agent") == {
        kim: {"asks": 1, "cases_with_asks": 1}
    }
    assert _values(client, admin, "approval_wait", group_by="agent") == {
        kim: {"decided": 1, "median_hours": 4.0, "p90_hours": 4.0}
    }
    assert _values(client, admin, "service_level_mix", group_by="priority") == {
        "high": {"solved": 1, "level_1": 1, "level_2": 0, "level_3": 0},
        "normal": {"solved": 2, "level_1": 1, "level_2": 0, "level_3": 1},
    }
    by_day = _report(client, admin, "cases_opened", group_by="day", end="2026-03-05")
    assert [(f["group"], f["values"]["value"]) for f in by_day["figures"]] == [(DAY, 4)]
    assert by_day["figures"][0]["cases_url"] == f"/queue?view=all&start={DAY}&end={DAY}"
    refunds = _report(client, admin, "cases_opened", remedy="refund-full")
    assert (refunds["cases"], refunds["filters"]["remedy"]) == (1, "refund-full")


def _csv(client: TestClient, headers: Headers, path: str) -> list[dict[str, str]]:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_the_csv_sums_to_the_figures(
    client: TestClient, history: dict[str, Any], admin: Headers
) -> None:
    rows = _csv(client, admin, f"/api/v1/reports/cases_reopened.csv?start={DAY}&end={DAY}")
    same = _csv(client, admin, f"/api/v1/reports/cases_reopened?start={DAY}&end={DAY}&format=csv")
    assert rows == same
    assert [int(r["case_id"]) for r in rows] == list(history["cases"])
    assert len(rows) == KNOWN["cases_opened"]["value"]
    assert sum(r["solved_at"] != "" for r in rows) == KNOWN["cases_solved"]["value"]
    assert sum(int(r["reopened"]) for r in rows) == KNOWN["cases_reopened"]["value"]
    solved = [r for r in rows if r["solved_at"]]
    for flag, measure in (("one_touch", "one_touch_resolution"),
                          ("first_contact", "first_contact_resolution")):  # fmt: skip
        share = sum(int(r[flag]) for r in solved) / len(solved)
        assert round(share, 4) == KNOWN[measure]["value"]
    replies = sorted(float(r["first_reply_hours"]) for r in rows if r["first_reply_hours"])
    assert replies[len(replies) // 2] == KNOWN["first_reply_time"]["median_hours"]
    business = [r["resolution_business_hours"] for r in rows]
    assert business == ["3.0", "8.0", "4.5", ""]
    levels = [r["service_level"] for r in solved]
    assert levels.count("1") == KNOWN["service_level_mix"]["level_1"]


def test_an_agent_reads_only_their_own_cases(
    client: TestClient,
    history: dict[str, Any],
    admin: Headers,
    token_for: Callable[..., Headers],
) -> None:
    made = client.post(
        "/api/v1/agents",
        json={"email": "lee@desk.example", "name": "Lee", "role": "agent"},
        headers=admin,
    )
    lee = token_for(Role.AGENT, made.json()["id"])
    kim = token_for(Role.AGENT, history["kim"])
    # Lee asks for Kim's cases and gets Lee's own: none.
    asked = _report(client, lee, "cases_opened", agent=str(history["kim"]))
    assert (asked["cases"], asked["figures"], asked["filters"]["agent"]) == (
        0, None, str(made.json()["id"])
    )  # fmt: skip
    assert _report(client, kim, "cases_opened")["cases"] == 4
    assert _csv(client, lee, f"/api/v1/reports/cases_opened.csv?start={DAY}") == []
    # A token of no agent, without the lead's permission, has no cases of its own.
    for path in ("/api/v1/reports/cases_opened", "/api/v1/reports/cases_opened.csv"):
        refused = client.get(path, headers=token_for(Role.VIEWER))
        assert refused.status_code == 403, refused.text
    assert client.get("/api/v1/reports", headers=token_for(Role.VIEWER)).status_code == 200


def test_an_empty_period_says_no_cases_not_zeros(
    client: TestClient, history: dict[str, Any], admin: Headers
) -> None:
    for measure in ("cases_opened", "grants", "first_reply_time"):
        report = _report(client, admin, measure, start="2026-01-01", end="2026-01-31")
        assert (report["cases"], report["figures"]) == (0, None)


@pytest.mark.one_backend
@pytest.mark.parametrize(
    ("path", "status", "field", "allowed"),
    [
        ("/api/v1/reports/speed", 404, "measure", "cases_opened"),
        ("/api/v1/reports/speed.csv", 404, "measure", "cases_opened"),
        ("/api/v1/reports/grants?group_by=day", 422, "group_by", "remedy"),
        ("/api/v1/reports/grants?channel=fax", 422, "channel", "email"),
        ("/api/v1/reports/grants?priority=soon", 422, "priority", "urgent"),
        ("/api/v1/reports/grants?start=2026-03-05&end=2026-03-01", 422, "start", None),
        ("/api/v1/reports/grants?start=2025-01-01&end=2026-03-01", 422, "end", None),
        ("/api/v1/reports/grants?start=yesterday", 422, "start", None),
        ("/api/v1/reports/grants?colour=red", 422, "colour", "remedy"),
        ("/api/v1/reports/grants?team=77", 422, "team", "none"),
        ("/api/v1/reports/grants?team=nobody", 422, "team", "none"),
        ("/api/v1/reports/grants?remedy=pony", 422, "remedy", "refund-full"),
        ("/api/v1/reports/grants.csv?agent=77", 422, "agent", "none"),
        ("/api/v1/reports/grants?agent=None", 422, "agent", "none"),
    ],
)
def test_bad_input_is_refused_with_what_is_allowed(
    client: TestClient, admin: Headers, path: str, status: int, field: str, allowed: str | None
) -> None:
    response = client.get(path, headers=admin)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    details = response.json()["details"]
    assert details["field"] == field
    assert "allowed" in details
    if allowed is not None:
        assert allowed in details["allowed"]


def test_a_report_reads_a_bounded_number_of_statements(
    container: Container, history: dict[str, Any]
) -> None:
    filters = parse_filters({"start": DAY, "end": DAY}, container.clock.now().date())
    now = container.clock.now()
    for measure in CATALOGUE:
        for group_by in (None, *measure.group_by):
            with statements_sent(container.engine) as sent:
                reports.report(
                    container.uow.read_only(), SYSTEM, now, measure.name, filters, group_by
                )
            reads = [s for s in sent if not s.startswith("BEGIN")]  # SQLite's own BEGIN
            # The count of cases, then at most two statements for the measure itself (a
            # duration's four series, reply and resolution in calendar and business hours,
            # are one).
            assert 1 <= len(reads) <= 3, (measure.name, group_by, reads)


def _queue_of(container: Container, cases_url: str) -> list[int]:
    """The case ids the console queue shows at a figure's `cases_url`."""
    path, _, query = cases_url.partition("?")
    assert path == "/queue"
    params = dict(parse_qsl(query))
    view = console.queue(
        container.uow.read_only(), SYSTEM, pages.queue_query_of(params), 50, None, None
    )
    return sorted(c.id for c in view.page.items if c.id is not None)


def test_every_figure_drills_down_to_its_cases_in_the_queue(
    client: TestClient, container: Container, history: dict[str, Any], admin: Headers
) -> None:
    wrong, big, quiet, waiting = history["cases"]
    for measure, params, expected in [
        ("cases_opened", {}, {None: [wrong, big, quiet, waiting]}),
        ("cases_opened", {"group_by": "priority"},
         {"high": [quiet], "normal": [wrong, big, waiting]}),
        ("cases_opened", {"group_by": "day", "end": "2026-03-09"},
         {DAY: [wrong, big, quiet, waiting]}),
        ("cases_opened", {"remedy": "keep-item"}, {None: [wrong]}),
        ("cases_opened", {"channel": "email"}, None),
        ("grants", {"group_by": "remedy"}, {"keep-item": [wrong], "refund-full": [wrong]}),
    ]:  # fmt: skip
        report = _report(client, admin, measure, **params)
        if expected is None:
            assert report["cases"] == 0
            continue
        shown = {f["group"]: _queue_of(container, f["cases_url"]) for f in report["figures"]}
        assert shown == expected, (measure, params)
    # A day outside the period shows none of them.
    assert _queue_of(container, "/queue?view=all&start=2026-03-03&end=2026-03-03") == []


def test_the_cases_without_a_team_or_an_agent_drill_down_to_exactly_them(
    client: TestClient,
    container: Container,
    history: dict[str, Any],
    admin: Headers,
    token_for: Callable[..., Headers],
) -> None:
    """The figure of the cases of no team (or of no agent) is a group of its own: its link,
    the report filtered by `none` and the CSV all select those cases and no others."""
    wrong, big, quiet, waiting = history["cases"]
    kim_id = history["kim"]
    kim = token_for(Role.AGENT, kim_id)
    desk = Desk(client, container, kim, token_for(Role.LEAD))
    team = desk.post("/api/v1/teams", {"name": "Returns"}, admin)["id"]
    for case_id in (wrong, big):
        desk.post(f"/api/v1/cases/{case_id}/assignment", {"assignee_id": kim_id, "team_id": team})
    alone = desk.case("W2", "question")
    for group_by, expected in [
        ("team", {str(team): [wrong, big], None: [quiet, waiting, alone]}),
        ("agent", {str(kim_id): [wrong, big, quiet, waiting], None: [alone]}),
    ]:
        report = _report(client, admin, "cases_opened", group_by=group_by)
        shown = {f["group"]: _queue_of(container, f["cases_url"]) for f in report["figures"]}
        assert shown == expected, group_by
        counted = {f["group"]: f["values"]["cases"] for f in report["figures"]}
        assert counted == {group: len(ids) for group, ids in expected.items()}, group_by
    no_team = _report(client, admin, "cases_opened", team="none")
    assert (no_team["cases"], no_team["filters"]["team"]) == (3, "none")
    assert _report(client, admin, "cases_opened", agent="none")["cases"] == 1
    rows = _csv(client, admin, f"/api/v1/reports/cases_opened.csv?start={DAY}&team=none")
    assert sorted(int(r["case_id"]) for r in rows) == [quiet, waiting, alone]
    # An agent asking for the unassigned cases still reads only their own.
    assert _report(client, kim, "cases_opened", agent="none")["cases"] == 4
    assert _csv(client, kim, f"/api/v1/reports/cases_opened.csv?start={DAY}&agent=none") == _csv(
        client, kim, f"/api/v1/reports/cases_opened.csv?start={DAY}"
    )


def test_a_case_opened_after_another_was_answered_can_be_first_contact(
    client: TestClient,
    container: Container,
    history: dict[str, Any],
    admin: Headers,
    token_for: Callable[..., Headers],
) -> None:
    """Whether the customer wrote again is measured from the case's own first reply: once it
    was measured from the earliest reply of any case, and a case opened after that reply
    counted its opening message as writing again."""
    desk = Desk(client, container, token_for(Role.AGENT, history["kim"]), token_for(Role.LEAD))
    desk.at(10)
    late = desk.case("W1", "question")
    desk.post(f"/api/v1/cases/{late}/assignment", {"assignee_id": history["kim"]})
    desk.at(11)
    desk.reply(late)
    desk.at(12)
    desk.status(late, "solved")
    assert _values(client, admin, "first_contact_resolution")[None] == {
        "cases": 5, "value": 0.75, "of": 4,
    }  # fmt: skip
