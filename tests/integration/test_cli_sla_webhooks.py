"""`caredesk sla …`, `caredesk webhooks …` and the worker inside `caredesk serve`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from caredesk.bootstrap import Container, bootstrap
from caredesk.cli.main import app
from caredesk.domain.jobs import JobState
from caredesk.services.core import jobs
from caredesk.settings import Settings
from caredesk.web.app import create_app
from tests.conftest import ManualClock


@pytest.fixture
def cli_desk(container: Container, monkeypatch: pytest.MonkeyPatch) -> Container:
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("CAREDESK_SEMANTIC_SEARCH", "false")
    return container


def test_calendars_and_policies_from_the_command_line(cli_desk: Container, tmp_path: Path) -> None:
    runner = CliRunner()
    spec = tmp_path / "office.json"
    spec.write_text(
        json.dumps(
            {"name": "Office", "timezone": "Europe/Paris", "hours": {"mon": ["09:00-17:00"]}}
        )
    )
    created = runner.invoke(app, ["sla", "add-calendar", str(spec)])
    assert created.exit_code == 0, created.output
    listed = runner.invoke(app, ["sla", "calendars"])
    assert "Office" in listed.output and "Europe/Paris" in listed.output
    policy = runner.invoke(
        app,
        ["sla", "add-policy", "--name", "Gold", "--first-reply", "60", "--calendar", "1",
         "--tier", "gold"],
    )  # fmt: skip
    assert policy.exit_code == 0, policy.output
    assert "Gold" in runner.invoke(app, ["sla", "policies"]).output
    refused = runner.invoke(app, ["sla", "add-policy", "--name", "Empty"])
    assert refused.exit_code == 1
    assert "invalid_sla_policy" in refused.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "Bad", "timezone": "Nowhere/Land", "hours": {}}))
    assert "invalid_calendar" in runner.invoke(app, ["sla", "add-calendar", str(bad)]).output


def test_webhooks_from_the_command_line(
    cli_desk: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A documentation network, allowed as an admin would allow a network of their own.
    monkeypatch.setenv("CAREDESK_WEBHOOK_ALLOWED_NETWORKS", '["192.0.2.0/24"]')
    runner = CliRunner()
    added = runner.invoke(
        app, ["webhooks", "add", "--url", "https://192.0.2.10/desk", "--event", "case.*"]
    )
    assert added.exit_code == 0, added.output
    assert added.output.strip().splitlines()[-1].startswith("whsec_")
    listed = runner.invoke(app, ["webhooks", "list"])
    assert "https://192.0.2.10/desk" in listed.output
    assert runner.invoke(app, ["webhooks", "deliveries", "1"]).exit_code == 0
    refused = runner.invoke(app, ["webhooks", "add", "--url", "ftp://x", "--event", "case.*"])
    assert refused.exit_code == 1
    inside = runner.invoke(
        app, ["webhooks", "add", "--url", "http://0x7f000001:8080/", "--event", "case.*"]
    )
    assert inside.exit_code == 1
    assert "url_not_allowed" in inside.output
    assert "127.0.0.1 is a loopback address" in inside.output
    assert "Traceback" not in inside.output
    assert len(runner.invoke(app, ["webhooks", "list"]).output.strip().splitlines()) == 1


def test_serve_runs_a_worker_itself_on_sqlite(container: Container, clock: ManualClock) -> None:
    database_url = container.settings.database_url  # emptied by the fixture
    if not database_url.startswith("sqlite"):
        pytest.skip("the embedded worker is on by default only for SQLite")
    settings = Settings(database_url=database_url, semantic_search=False, worker_poll_seconds=0.05)
    served = bootstrap(settings, clock=clock)
    with served.uow() as uow:
        job_id = jobs.enqueue(uow, "nobody.handles.this", {}, now=clock.now())
        uow.commit()
    with TestClient(create_app(container=served)):
        assert served.worker_pool is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with served.uow() as uow:
                job = uow.jobs.get(job_id)
            assert job is not None
            if job.state is JobState.DEAD:
                break
            time.sleep(0.05)
        assert job.state is JobState.DEAD
    assert served.worker_pool is None  # stopped with the app
