"""The report pages over the reports' hand-made history (tests/integration/test_reports.py):
the lead's dashboard and Kim's own page show the API's figures, link to the queues of the
cases behind them, and refuse what they cannot read with a page."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from caredesk.adapters.db.models import AgentRow
from caredesk.bootstrap import Container
from caredesk.web.pages.report_views import SECTIONS, count, hours, score, share
from tests.integration.statements import statements_sent
from tests.integration.test_reports import DAY, Headers, _queue_of, history  # noqa: F401

# The pages draw the API's figures, which tests/integration/test_reports.py checks on both backends.
pytestmark = pytest.mark.one_backend

PASSWORD = "report-pages-password"
LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')
PERIOD = f"start={DAY}&end={DAY}"


def _sign_in(client: TestClient, email: str) -> None:
    client.cookies.clear()
    token = LOGIN_CSRF.search(client.get("/login").text)
    assert token is not None
    form = {"email": email, "password": PASSWORD, "login_csrf": token.group(1), "next": "/queue"}
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text


def _person(client: TestClient, admin: Headers, email: str, role: str) -> None:
    body = {"email": email, "name": email.split("@")[0].title(), "role": role, "password": PASSWORD}
    response = client.post("/api/v1/agents", json=body, headers=admin)
    assert response.status_code == 201, response.text


@pytest.fixture
def people(
    client: TestClient, container: Container, admin: Headers, request: pytest.FixtureRequest
) -> dict[str, Any]:
    """A lead and a viewer who sign in, and Kim (who owns the history's cases) given a password."""
    built: dict[str, Any] = request.getfixturevalue("history")
    _person(client, admin, "lena@desk.example", "lead")
    _person(client, admin, "vic@desk.example", "viewer")
    with container.engine.begin() as conn:
        conn.execute(
            update(AgentRow)
            .where(AgentRow.id == built["kim"])
            .values(password_hash=container.hasher.hash(PASSWORD))
        )
    return built


def _api(client: TestClient, headers: Headers, measure: str, **params: str) -> Any:
    response = client.get(
        f"/api/v1/reports/{measure}", params={"start": DAY, "end": DAY, **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def _tiles(page: str) -> dict[tuple[str, str], tuple[str, str | None]]:
    """Each figure the page shows, by (section, label): its text and its link."""
    shown = {}
    for section in page.split('data-section="')[1:]:
        name = section.split('"', 1)[0]
        for m in re.finditer(
            r'<dd>(?:<a href="([^"]+)" data-figure="([^"]+)">|<span data-figure="([^"]+)">)'
            r"([^<]*)<",
            section.split("</section>", 1)[0],
        ):
            label = html.unescape(m.group(2) or m.group(3))
            url = html.unescape(m.group(1)) if m.group(1) else None
            shown[(name, label)] = (html.unescape(m.group(4)), url)
    return shown


def _expected(client: TestClient, headers: Headers, measures: set[str]) -> dict[Any, Any]:
    """What each tile should read, worked out from the API's figures."""
    formats = {"count": count, "share": share, "hours": hours, "score": score}
    formats["money"] = lambda v: f"${v}"
    expected = {}
    for section, _, tiles in SECTIONS:
        for measure, key, label, kind in tiles:
            if measure not in measures:
                continue
            figures = _api(client, headers, measure)["figures"]
            if not figures:
                expected[(SECTIONS_BY_TITLE[section], label)] = ("—", None)
                continue
            figure = figures[0]
            text = formats[kind](figure["values"].get(key))
            expected[(SECTIONS_BY_TITLE[section], label)] = (text, figure["cases_url"])
    return expected


SECTIONS_BY_TITLE = {title: csv_measure for title, csv_measure, _ in SECTIONS}
EVERY = {t[0] for _, _, tiles in SECTIONS for t in tiles}


def test_the_dashboard_shows_the_api_figures_with_their_queues(
    client: TestClient, container: Container, people: dict[str, Any], admin: Headers
) -> None:
    _sign_in(client, "lena@desk.example")
    page = client.get(f"/reports?{PERIOD}")
    assert page.status_code == 200, page.text
    shown = _tiles(page.text)
    assert shown == _expected(client, admin, EVERY)
    assert shown[("cases_opened", "Opened")][0] == "4"
    assert shown[("grants", "Cost")][0] == "$50.00"
    # The charts keep their accessible SVG, and each bar links to its queue.
    assert page.text.count('role="img"') == 9
    for title in (
        "First reply targets met (by day opened)",
        "Resolution targets met (by day opened)",
        "Satisfaction (average score 1-5, by day opened)",
        "Service level of solved cases",
    ):
        assert f"<figcaption>{html.escape(title)}</figcaption>" in page.text
    wrong = people["cases"][0]
    # The queue behind "Opened" lists exactly the four cases counted; behind each remedy's
    # bar, the one case granted it.
    opened = shown[("cases_opened", "Opened")][1]
    assert opened is not None and _queue_of(container, opened) == sorted(people["cases"])
    by_remedy = _api(client, admin, "grants", group_by="remedy")["figures"]
    for figure in by_remedy:
        # The bar itself links, and the number in the table under the chart.
        assert f'<a href="{html.escape(figure["cases_url"])}"><rect' in page.text
        assert f'<a href="{html.escape(figure["cases_url"])}">1</a>' in page.text
        assert _queue_of(container, figure["cases_url"]) == [wrong]
    # The per-agent table names Kim, her median first reply linking to her cases.
    kim = _api(client, admin, "first_reply_time", group_by="agent")["figures"][0]
    assert kim["group"] == str(people["kim"])
    row = page.text.split('<th scope="row">Kim</th>', 1)[1].split("</tr>", 1)[0]
    assert f'<a href="{html.escape(kim["cases_url"])}">2.0 h</a>' in row
    # Each section links its CSV under the same filters.
    assert f'href="/reports/grants.csv?start={DAY}&amp;end={DAY}"' in page.text


def _chart_rows(page: str, title: str) -> list[tuple[str, str, str]]:
    """A chart's table under it: each row's label, linked text and link."""
    figure = page.split(f"<figcaption>{html.escape(title)}</figcaption>", 1)[1]
    table = figure.split("</figure>", 1)[0]
    rows = re.findall(r'<th scope="row">([^<]+)</th><td><a href="([^"]+)">([^<]*)</a>', table)
    return [(label, text, html.unescape(url)) for label, url, text in rows]


def test_a_day_without_a_case_reads_zero_in_the_charts_by_day(
    client: TestClient, container: Container, people: dict[str, Any]
) -> None:
    _sign_in(client, "lena@desk.example")
    page = client.get("/reports?start=2026-03-01&end=2026-03-03").text
    opened = _chart_rows(page, "Cases opened per day")
    assert [(label, text) for label, text, _ in opened] == [
        ("2026-03-01", "0"),
        (DAY, "4"),
        ("2026-03-03", "0"),
    ]
    # Each day's number opens that day's queue, the empty days' empty queues too.
    assert _queue_of(container, opened[0][2]) == []
    assert _queue_of(container, opened[1][2]) == sorted(people["cases"])
    # A figure that has no value without a case (a median) shows none, its column zero.
    reply = _chart_rows(page, "First reply time (median hours, by day opened)")
    assert [text for _, text, _ in reply] == ["—", "2.0 h", "—"]
    svg = page.split("First reply time (median hours, by day opened)</title>", 1)[1]
    assert svg.split("</svg>", 1)[0].count('height="0.0"') == 2


def test_an_old_dashboard_bookmark_opens_the_same_days_of_the_reports(
    client: TestClient, container: Container, people: dict[str, Any]
) -> None:
    _sign_in(client, "lena@desk.example")
    today = container.clock.now().date()
    for query, first in (("", today - timedelta(days=29)), ("?days=7", today - timedelta(days=6))):
        moved = client.get(f"/dashboard{query}", follow_redirects=False)
        assert moved.status_code == 303, moved.text
        assert moved.headers["location"] == f"/reports?start={first}&end={today}"
    one_day = client.get("/dashboard?days=1", follow_redirects=False)
    assert one_day.headers["location"] == f"/reports?start={today}&end={today}"
    for bad in ("0", "367", "seven"):
        refused = client.get(f"/dashboard?days={bad}", follow_redirects=False)
        assert refused.status_code == 422, bad
        assert refused.headers["content-type"].startswith("text/html")
        assert "days" in refused.text and "Traceback" not in refused.text
    # Signed out, the bookmark asks for a sign-in first, as every console page does.
    client.cookies.clear()
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_the_filters_narrow_the_dashboard_and_its_links(
    client: TestClient, people: dict[str, Any], admin: Headers
) -> None:
    _sign_in(client, "lena@desk.example")
    page = client.get(f"/reports?{PERIOD}&priority=high&team=&tag=")
    assert page.status_code == 200, page.text
    shown = _tiles(page.text)
    api = _api(client, admin, "cases_opened", priority="high")["figures"][0]
    assert shown[("cases_opened", "Opened")] == ("1", api["cases_url"])
    assert "priority=high" in api["cases_url"]


def test_the_dashboard_reads_the_cases_of_no_team(
    client: TestClient, people: dict[str, Any], admin: Headers
) -> None:
    """The history's cases have no team: `team=none` keeps all four, and says so."""
    _sign_in(client, "lena@desk.example")
    page = client.get(f"/reports?{PERIOD}&team=none")
    assert page.status_code == 200, page.text
    api = _api(client, admin, "cases_opened", team="none")["figures"][0]
    assert _tiles(page.text)[("cases_opened", "Opened")] == ("4", api["cases_url"])
    assert "team=none" in api["cases_url"]
    assert '<option value="none" selected>no team</option>' in page.text


def test_an_agent_reads_their_own_page_only(
    client: TestClient, people: dict[str, Any], token_for: Any
) -> None:
    from caredesk.domain.agents import Role

    _sign_in(client, "kim@desk.example")
    page = client.get(f"/me/reports?{PERIOD}")
    assert page.status_code == 200, page.text
    # The navigation offers every agent their own page, and the team view to leads only.
    assert 'href="/me/reports"' in page.text
    assert 'href="/reports"' not in page.text
    kim = token_for(Role.AGENT, people["kim"])
    mine = {"cases_opened", "cases_solved", "first_reply_time", "resolution_time"}
    mine |= {"sla_attainment", "satisfaction", "grants"}
    shown = _tiles(page.text)
    assert shown == _expected(client, kim, mine)
    assert f"agent={people['kim']}" in (shown[("first_reply_time", "Median")][1] or "")
    assert client.get(f"/reports?{PERIOD}").status_code == 403
    _sign_in(client, "vic@desk.example")
    refused = client.get(f"/reports?{PERIOD}")
    assert refused.status_code == 403
    assert "Not allowed" in refused.text


def test_an_empty_period_says_so(client: TestClient, people: dict[str, Any]) -> None:
    _sign_in(client, "lena@desk.example")
    page = client.get("/reports?start=2026-04-01&end=2026-04-30")
    assert page.status_code == 200
    assert "No cases in this period" in page.text
    assert "data-figure" not in page.text


@pytest.mark.parametrize(
    ("query", "allowed"),
    [
        ("channel=fax", "email, portal"),
        ("start=2026-03-09&end=2026-03-01", "start on or before end"),
        ("team=999", "team takes"),
        ("team=nobody", "a positive whole number, or none"),
        ("colour=red", "start, end, team"),
        ("remedy=gift-card-9", "keep-item"),
    ],
)
def test_a_bad_filter_is_a_readable_page_of_what_is_allowed(
    client: TestClient, people: dict[str, Any], query: str, allowed: str
) -> None:
    _sign_in(client, "lena@desk.example")
    page = client.get(f"/reports?{query}")
    assert page.status_code == 400, page.text
    assert 'data-code="validation_error"' in page.text
    assert allowed in page.text


def test_the_console_serves_the_csv_of_a_view(client: TestClient, people: dict[str, Any]) -> None:
    _sign_in(client, "kim@desk.example")
    response = client.get(f"/reports/cases_opened.csv?{PERIOD}")
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(int(r["case_id"]) for r in rows) == sorted(people["cases"])
    assert client.get(f"/reports/nothing.csv?{PERIOD}").status_code == 404


def test_the_dashboard_reads_a_bounded_number_of_statements(
    client: TestClient, container: Container, people: dict[str, Any]
) -> None:
    _sign_in(client, "lena@desk.example")
    client.get(f"/reports?{PERIOD}")  # the first render warms the policy and template caches
    with statements_sent(container.engine) as sent:
        page = client.get(f"/reports?{PERIOD}")
    assert page.status_code == 200
    reads = [s for s in sent if s.strip().upper() != "BEGIN"]
    # 24 reports of one to five statements each, whatever the number of cases.
    assert len(reads) <= 90, len(reads)
