"""The round trip: desk A's history, read through its own /api/v2 by `caredesk import zendesk`
into an empty desk B, is the same history: every ticket, comment, file and rating, compared
through both desks' Zendesk APIs (tests/contract/desk_comparison.py). The import is stopped
partway first, as a crash or a Ctrl-C would stop it, and run again by the command line."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from caredesk.adapters.db import models as m
from caredesk.adapters.zendesk_source import ZenpySource
from caredesk.bootstrap import Container
from caredesk.cli.main import app as cli_app
from caredesk.domain.agents import SYSTEM, Role
from caredesk.services.access import auth
from caredesk.services.zendesk.imports import ZendeskImport
from caredesk.web.app import create_app
from tests.contract.conftest import LiveDesk
from tests.contract.desk_comparison import DeskReader, differences
from tests.integration.test_zendesk_import import Watcher

TIMEOUT = 30


def _source_reader(live_desk: LiveDesk) -> DeskReader:
    session = requests.Session()
    session.auth = (f"{live_desk.email}/token", live_desk.token)

    def get(path: str) -> requests.Response:
        url = path if path.startswith("http") else live_desk.base_url + path
        answer = session.get(url, timeout=TIMEOUT)
        answer.raise_for_status()
        return answer

    return DeskReader(lambda path: get(path).json(), lambda path: get(path).content)


def _copy_reader(client: TestClient, container: Container) -> DeskReader:
    issued = auth.create_token(
        container.uow(), SYSTEM, container.clock.now(), name="compare", role=Role.ADMIN
    )
    headers = {"Authorization": f"Bearer {issued.secret}"}

    def get(path: str) -> Any:
        answer = client.get(path, headers=headers)
        assert answer.status_code == 200, (path, answer.text)
        return answer

    return DeskReader(lambda path: get(path).json(), lambda path: get(path).content)


def _run(container: Container, live_desk: LiveDesk, watcher: Watcher) -> Watcher:
    ZendeskImport(
        source=ZenpySource(live_desk.base_url, live_desk.email, live_desk.token),
        new_unit=container.uow,
        actor=SYSTEM,
        now=container.clock.now(),
        observer=watcher,
        limits=container.attachment_limits,
        triage=container.triage,
    ).run()
    return watcher


def _copies(container: Container, live_desk: LiveDesk) -> dict[int, int]:
    row = m.ZendeskImportIdRow
    query = select(row.source_id, row.local_id).where(
        row.source == live_desk.base_url, row.kind == "ticket"
    )
    with container.engine.connect() as connection:
        return {int(source): int(local) for source, local in connection.execute(query)}


def _command(container: Container, live_desk: LiveDesk, report: str) -> None:
    settings = container.settings
    env = {
        "CAREDESK_DATABASE_URL": settings.database_url,
        "CAREDESK_SEMANTIC_SEARCH": "false",
        "CAREDESK_EMBEDDED_WORKER": "false",
        "CAREDESK_MODEL_DIR": str(settings.model_dir),
        "CAREDESK_ZENDESK_TOKEN": live_desk.token,
    }
    arguments = ["import", "zendesk", "--url", live_desk.base_url, "--email", live_desk.email]
    done = CliRunner().invoke(cli_app, [*arguments, "--report", report], env=env)
    assert done.exit_code == 0, (done.output, repr(done.exception))


# Stopped among the users, and among the tickets (after the groups and some 20 users).
@pytest.mark.parametrize("stop_after", [5, 30])
def test_a_desk_read_through_its_zendesk_api_is_imported_whole_even_when_stopped(
    live_desk: LiveDesk,
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
    stop_after: int,
) -> None:
    # The import points zenpy at the desk through these; set here so that they are put back.
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", live_desk.netloc)
    with pytest.raises(KeyboardInterrupt):
        _run(container, live_desk, Watcher(stop_after=stop_after))
    partial = _copies(container, live_desk)
    _command(container, live_desk, str(tmp_path / "report.jsonl"))
    copies = _copies(container, live_desk)
    assert len(copies) > len(partial)
    assert (tmp_path / "report.jsonl").read_text() == "", "nothing of desk A is left out"

    source = _source_reader(live_desk)
    with TestClient(create_app(container=container)) as client:
        found = differences(source, _copy_reader(client, container), copies)
    assert found == []
    # What was compared holds every kind of thing: many tickets, notes, files and ratings.
    tickets = [source.ticket(t) for t in copies]
    comments = [c for t in tickets for c in t["comments"]]
    assert len(tickets) > 20 and len(comments) > 2 * len(tickets)
    assert {c["public"] for c in comments} == {True, False}
    # The desk's three files at least: other tests on the same desk may have added theirs.
    assert sum(len(c["attachments"]) for c in comments) >= 3
    assert {r[1] for r in source.ratings(lambda t: t)} >= {"good", "offered"}

    again = _run(container, live_desk, Watcher())
    assert {outcome for (_, outcome) in again.counts} == {"unchanged"}
    assert _copies(container, live_desk) == copies
