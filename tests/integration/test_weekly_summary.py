"""The weekly summary by mail: leads opt in (agents may not), the timer queues one job per lead
and week, the job mails once however often it runs, and the mail's figures are the reports'
on the hand-made week of tests/integration/test_reports.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from caredesk.bootstrap import Container, mail_identity, mailer_for
from caredesk.domain.agents import SYSTEM, Role
from caredesk.domain.mail import MailRecord
from caredesk.services.access import auth
from caredesk.services.channels import mail_out
from caredesk.services.core.jobs import HandlerRegistry, JobContext, Worker
from caredesk.services.reports import reports, weekly
from caredesk.services.reports.filters import ReportFilter
from tests.integration.test_reports import history  # noqa: F401  (the hand-made week)

Headers = dict[str, str]
MONDAY = date(2026, 3, 9)  # the Monday after the clock's first week (tests/conftest.py)
OPTIONS = weekly.WeeklyOptions(base_url="http://desk.example", desk_zone="UTC", desk_name="Care")


def _agent(client: TestClient, admin: Headers, email: str, role: str) -> int:
    made = client.post(
        "/api/v1/agents", json={"email": email, "name": email.split("@")[0], "role": role},
        headers=admin,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    agent_id: int = made.json()["id"]
    return agent_id


def _patch(client: TestClient, headers: Headers, agent_id: int, body: dict[str, Any]) -> Any:
    return client.patch(f"/api/v1/agents/{agent_id}", json=body, headers=headers)


def _summaries(container: Container) -> list[MailRecord]:
    with container.uow.read_only() as uow:
        found = uow.mail.find(direction=None, status=None, limit=100)
    return [m for m in found if m.template == weekly.TEMPLATE]


def _at(container: Container, hour: int, minute: int = 30) -> None:
    container.clock.current = datetime(  # type: ignore[attr-defined]
        MONDAY.year, MONDAY.month, MONDAY.day, hour, minute, tzinfo=UTC
    )


def test_a_lead_opts_in_and_out_and_an_agent_is_refused(
    client: TestClient, admin: Headers, token_for: Callable[..., Headers]
) -> None:
    lead = _agent(client, admin, "lee@desk.example", "lead")
    kim = _agent(client, admin, "kim@desk.example", "agent")
    assert client.get("/api/v1/agents", headers=admin).json()[-1]["weekly_summary"] is False

    by_admin = _patch(client, admin, lead, {"weekly_summary": True})
    assert by_admin.status_code == 200, by_admin.text
    assert by_admin.json()["weekly_summary"] is True
    # Only the field sent changed: the time zone stays the desk's.
    assert by_admin.json()["time_zone"] is None
    own = token_for(Role.LEAD, lead)
    assert _patch(client, own, lead, {"weekly_summary": False}).json()["weekly_summary"] is False
    audit = client.get(f"/api/v1/agents/{lead}/audit", headers=admin).json()
    changes = [(e["before"], e["after"]) for e in audit if e["action"] == "agent.updated"]
    assert changes == [
        ({"weekly_summary": False}, {"weekly_summary": True}),
        ({"weekly_summary": True}, {"weekly_summary": False}),
    ]

    refused = _patch(client, admin, kim, {"weekly_summary": True, "time_zone": "Europe/Berlin"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["details"]["field"] == "weekly_summary"
    assert refused.json()["details"]["allowed"] == ["lead", "admin"]
    # Nothing of the refused change was written, the time zone neither.
    kim_now = [a for a in client.get("/api/v1/agents", headers=admin).json() if a["id"] == kim]
    assert kim_now[0]["weekly_summary"] is False and kim_now[0]["time_zone"] is None
    # An agent may not change another agent's settings.
    assert (
        _patch(client, token_for(Role.AGENT, kim), lead, {"weekly_summary": True}).status_code
        == 403
    )


def _worker(container: Container) -> Worker:
    registry = HandlerRegistry()
    mail_out.register_mail(registry, mailer_for(container), mail_identity(container.settings))
    weekly.register_weekly(registry, OPTIONS)
    ctx = JobContext(uow=container.uow, clock=container.clock)
    return Worker(ctx, registry, name="test-worker", options=container.worker_options)


def test_the_timer_queues_one_job_per_lead_and_week_and_each_mails_once(
    client: TestClient, container: Container, admin: Headers
) -> None:
    london = _agent(client, admin, "lee@desk.example", "lead")
    boss = _agent(client, admin, "boss@desk.example", "admin")
    quiet = _agent(client, admin, "quiet@desk.example", "lead")
    for agent_id in (london, boss):
        assert _patch(client, admin, agent_id, {"weekly_summary": True}).status_code == 200
    ny = {"weekly_summary": True, "time_zone": "America/New_York"}
    assert _patch(client, admin, boss, ny).status_code == 200
    assert quiet  # a lead who did not ask gets nothing

    _at(container, 6, 59)
    assert weekly.queue_due(container.uow, container.clock.now(), "UTC") == 0
    _at(container, 7, 0)
    assert weekly.queue_due(container.uow, container.clock.now(), "UTC") == 1
    assert weekly.queue_due(container.uow, container.clock.now(), "UTC") == 0
    _at(container, 12, 0)  # 07:00 in New York
    assert weekly.queue_due(container.uow, container.clock.now(), "UTC") == 1

    worker = _worker(container)
    worker.run_once()
    worker.run_once()
    sent = _summaries(container)
    assert sorted(m.to[0] for m in sent) == ["boss@desk.example", "lee@desk.example"]

    # The same job delivered again (a worker died before recording it) mails nothing more.
    ctx = JobContext(uow=container.uow, clock=container.clock)
    weekly.run_summary_job(ctx, {"agent_id": london, "week": MONDAY.isoformat()}, OPTIONS)
    assert len(_summaries(container)) == 2
    # Next week is another week: both leads are due again by noon.
    container.clock.advance(days=7)  # type: ignore[attr-defined]
    assert weekly.queue_due(container.uow, container.clock.now(), "UTC") == 2


def test_a_lead_who_stopped_it_before_the_job_ran_is_not_mailed(
    client: TestClient, container: Container, admin: Headers
) -> None:
    lead = _agent(client, admin, "lee@desk.example", "lead")
    _patch(client, admin, lead, {"weekly_summary": True})
    _at(container, 7)
    assert weekly.queue_due(container.uow, container.clock.now(), "UTC") == 1
    _patch(client, admin, lead, {"weekly_summary": False})
    assert _worker(container).run_once() == 1
    assert _summaries(container) == []


@pytest.mark.usefixtures("history")
def test_the_mail_has_the_measures_figures(
    client: TestClient, container: Container, admin: Headers
) -> None:
    lead = _agent(client, admin, "lee@desk.example", "lead")
    _patch(client, admin, lead, {"weekly_summary": True})
    _at(container, 8)
    with container.uow() as uow:
        agent = uow.agents.get(lead)
    assert agent is not None
    weekly.mail_summary(container.uow, container.clock.now(), agent, MONDAY, OPTIONS)
    [mail] = _summaries(container)
    assert mail.to == ["lee@desk.example"]
    assert mail.subject == "Weekly summary, 2026-03-02 to 2026-03-08"
    text = mail.body_text or ""
    # The figures of tests/integration/test_reports.py's KNOWN, as the reports give them.
    week = ReportFilter(start=date(2026, 3, 2), end=date(2026, 3, 8))
    now = container.clock.now()
    first_reply = reports.report(container.uow(), agent.actor(), now, "first_reply_time", week)
    assert first_reply.figures and first_reply.figures[0].values["median_hours"] == 2.0
    for line in (
        "Cases opened: 4 (week before: -)",
        "Cases solved: 3 (week before: -)",
        "Median first reply: 2.0 h",
        "Median resolution: 4.5 h",
        "SLA met, first reply: 33 %",
        "SLA met, next reply: 0 %",
        "SLA met, resolution: 67 %",
        "Satisfaction (share positive): 50 %",
        "Survey responses: 2",
        "keep-item: 1 costing 0.00 (week before: 0 costing 0.00)",
        "refund-full: 1 costing 50.00 (week before: 0 costing 0.00)",
        "The dashboard: http://desk.example/reports?start=2026-03-02&end=2026-03-08",
        "The cases: http://desk.example/queue?view=all&start=2026-03-02&end=2026-03-08",
    ):
        assert line in text, (line, text)
    assert "No cases this week" not in text
    assert mail.body_html is not None and "<td>50.00</td>" in mail.body_html


def test_an_empty_week_says_so(client: TestClient, container: Container, admin: Headers) -> None:
    lead = _agent(client, admin, "lee@desk.example", "lead")
    _at(container, 8)
    with container.uow() as uow:
        agent = uow.agents.get(lead)
    assert agent is not None
    weekly.mail_summary(container.uow, container.clock.now(), agent, MONDAY, OPTIONS)
    [mail] = _summaries(container)
    assert "No cases this week." in (mail.body_text or "")
    assert "Cases opened" not in (mail.body_text or "")
    assert "No cases this week." in (mail.body_html or "")


def test_the_command_line_sends_it_now(
    client: TestClient, container: Container, admin: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    from caredesk.cli.main import app

    lead = _agent(client, admin, "lee@desk.example", "lead")
    _agent(client, admin, "kim@desk.example", "agent")
    _patch(client, admin, lead, {"weekly_summary": True})
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("CAREDESK_SEMANTIC_SEARCH", "false")
    printed = CliRunner().invoke(app, ["reports", "weekly", "--send-now"])
    assert printed.exit_code == 0, printed.output
    assert "lee@desk.example" in printed.output and "1 weekly summary queued" in printed.output
    again = CliRunner().invoke(
        app, ["reports", "weekly", "--send-now", "--lead", "lee@desk.example"]
    )
    assert again.exit_code == 0, again.output
    assert len(_summaries(container)) == 2
    refused = CliRunner().invoke(
        app, ["reports", "weekly", "--send-now", "--lead", "kim@desk.example"]
    )
    assert refused.exit_code == 1
    assert "not a lead or admin" in refused.output
    assert len(_summaries(container)) == 2


def test_a_lead_asks_for_it_on_their_settings_page(container: Container) -> None:
    from caredesk.web.app import create_app
    from tests.integration.test_agent_time_zone import PASSWORD, _sign_in

    def person(email: str, role: Role) -> int:
        made = auth.create_agent(
            container.uow(), SYSTEM, container.hasher, container.clock.now(),
            email=email, name=email.split("@")[0], role=role, password=PASSWORD,
        )  # fmt: skip
        assert made.id is not None
        return made.id

    lee, kim = person("lee@desk.example", Role.LEAD), person("kim@desk.example", Role.AGENT)
    with TestClient(create_app(container=container), follow_redirects=False) as console:
        _sign_in(console, "lee@desk.example")
        page = console.get("/settings")
        assert "Mail me the weekly summary" in page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        on = {"csrf_token": csrf.group(1), "weekly_summary": "on"}
        saved = console.post("/settings/weekly-summary", data=on)
        assert saved.status_code == 303 and saved.headers["location"] == "/settings?notice=saved"
        assert 'name="weekly_summary" checked' in console.get("/settings").text
        console.post("/settings/weekly-summary", data={"csrf_token": csrf.group(1)})
        assert 'name="weekly_summary" checked' not in console.get("/settings").text
    with TestClient(create_app(container=container), follow_redirects=False) as console:
        _sign_in(console, "kim@desk.example")
        page = console.get("/settings")
        assert "weekly summary" not in page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        data = {"csrf_token": csrf.group(1), "weekly_summary": "on"}
        refused = console.post("/settings/weekly-summary", data=data)
        assert refused.status_code == 422 and "for leads and admins" in refused.text
    wanted = {a.id: a.weekly_summary for a in auth.list_agents(container.uow(), SYSTEM)}
    assert wanted == {lee: False, kim: False}
