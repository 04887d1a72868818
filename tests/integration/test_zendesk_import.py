"""`caredesk import zendesk` against a small Zendesk account served on loopback and read
through zenpy: what is stored, what is left out and reported, re-runs and resumption."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from typer.testing import CliRunner

from caredesk.adapters.db import models as m
from caredesk.adapters.db.migrate import fill_case_facts
from caredesk.adapters.zendesk_source import ZenpySource
from caredesk.bootstrap import Container
from caredesk.cli.main import app
from caredesk.domain.agents import SYSTEM, Agent, Role
from caredesk.domain.attachments import AttachmentLimits
from caredesk.domain.cases import CaseStatus, MessageKind, Priority
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.zendesk.import_records import Outcome, Skip
from caredesk.services.zendesk.imports import ZendeskImport
from tests.integration import zendesk_fake as fake

LIMITS = AttachmentLimits(file_bytes=1024)


class Watcher:
    """Counts and skips as the command line shows them; stops the import after `stop_after`
    stored objects, as a Ctrl-C or a crash between two objects would."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.skips: list[Skip] = []
        self.stop_after = stop_after
        self.stored_count = 0

    def counted(self, kind: str, outcome: Outcome) -> None:
        self.counts[kind, outcome.value] += 1

    def skipped(self, skip: Skip) -> None:
        self.skips.append(skip)

    def stored(self, kind: str) -> None:
        self.stored_count += 1
        if self.stop_after is not None and self.stored_count >= self.stop_after:
            raise KeyboardInterrupt


@pytest.fixture
def zenpy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The source sets these from --url; set here first so that they are put back after.
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", "127.0.0.1")


@pytest.fixture
def account(zenpy_env: None) -> Iterator[tuple[fake.Account, str]]:
    data = fake.account()
    with fake.serve(data) as url:
        yield data, url


def _import(container: Container, url: str, watcher: Watcher | None = None) -> Watcher:
    watcher = watcher or Watcher()
    ZendeskImport(
        source=ZenpySource(url, fake.EMAIL, fake.TOKEN),
        new_unit=container.uow,
        actor=SYSTEM,
        now=container.clock.now(),
        observer=watcher,
        limits=LIMITS,
        triage=container.triage,
    ).run()
    return watcher


def _ada(container: Container) -> int:
    with container.uow() as uow:
        agent = Agent(id=None, email="ada@desk.test", name="Ada", role=Role.AGENT)
        uow.agents.add(agent)
        uow.commit()
    assert agent.id is not None
    return agent.id


def _case_of(container: Container, url: str, ticket_id: int) -> int:
    with container.uow() as uow:
        known = uow.zendesk_imports.imported(url, "ticket", str(ticket_id))
    assert known is not None
    return int(known.local_id)


def _count(container: Container, table: str) -> int:
    with container.engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def test_an_account_is_filed_with_its_times_comments_files_and_ratings(
    container: Container, account: tuple[fake.Account, str]
) -> None:
    _, url = account
    ada = _ada(container)
    watcher = _import(container, url)
    case_id = _case_of(container, url, 1001)
    with container.uow() as uow:
        case = uow.cases.get(case_id)
        messages = uow.cases.messages(case_id)
        billing = uow.teams.get_by_name("Billing")
        files = [uow.blobs.get(a.sha256) for msg in messages for a in msg.attachments]
        survey = uow.portal.survey_for_case(case_id)
        fields = uow.ticket_fields.all()
        trail = [e.action for e in uow.audit.for_case(case_id)]
        found = uow.cases.find(CaseFilter(text="blender"), 10, None).items
    assert case is not None and billing is not None
    assert (case.subject, case.status, case.priority) == (
        "Refund for the blender",
        CaseStatus.SOLVED,
        Priority.HIGH,
    )
    assert case.created_at == _at("2024-03-01T10:00:00Z")
    assert case.updated_at == case.solved_at == _at("2024-03-02T15:30:00Z")
    assert (case.assignee_id, case.team_id) == (ada, billing.id)
    assert case.tags == ["org:acme-corp", "refund", "vip"]
    assert {k: v for k, v in case.custom_fields.items() if k.isdigit()} == {"360001": "#W100"}
    assert [(msg.kind, msg.body, msg.created_at) for msg in messages] == [
        (MessageKind.INBOUND, "The blender broke after a week.", _at("2024-03-01T10:00:00Z")),
        (MessageKind.NOTE, "Checked the order.", _at("2024-03-01T11:00:00Z")),
        (MessageKind.OUTBOUND, "Refund issued.", _at("2024-03-02T15:30:00Z")),
    ]
    assert messages[0].author_customer_id == case.customer_id
    assert [msg.author_agent_id for msg in messages[1:]] == [ada, ada]
    assert files == [fake.FILE_BYTES]
    assert messages[0].attachments[0].filename == "receipt.pdf"
    assert survey is not None and (survey.score, survey.comment) == (5, "Quick refund, thanks")
    with container.uow() as uow:
        offered = uow.portal.survey_for_case(_case_of(container, url, 1002))
    # Offered and never answered: a survey sent, without a score, that no link can now answer.
    assert offered is not None and (offered.score, offered.answered_at) == (None, None)
    assert offered.sent_at == offered.expires_at == _at("2024-03-03T10:00:00Z")
    assert [(f.id, f.title, f.type) for f in fields] == [
        (360001, "Order number", "text"),
        (360002, "Reason", "tagger"),
    ]
    assert fields[1].options[0]["value"] == "broken"
    assert trail == ["case.imported", "case.triaged"]
    assert [c.id for c in found] == [case_id]
    assert watcher.counts["tickets", "imported"] == 3
    assert watcher.counts["users", "imported"] == 5
    # History filed without events still gets its report facts, at the source's times.
    with container.engine.connect() as connection:
        facts = connection.execute(
            select(m.CaseFactsRow).where(m.CaseFactsRow.case_id == case_id)
        ).one()
    assert (facts.agent_replies, facts.status) == (1, "solved")
    assert facts.first_reply_at == _at("2024-03-02T15:30:00Z")
    assert fill_case_facts(container.engine, only_missing=False) == 0


def test_imported_people_are_matched_or_kept_as_inactive_agents(
    container: Container, account: tuple[fake.Account, str]
) -> None:
    _, url = account
    ada = _ada(container)
    _import(container, url)
    pending_id = _case_of(container, url, 1004)
    with container.uow() as uow:
        pending = uow.cases.get(pending_id)
        max_admin = uow.agents.get_by_email("max@desk.test")
        alice = uow.customers.email_owner("alice@example.com")
        agents = uow.agents.all()
    assert max_admin is not None and not max_admin.active
    assert max_admin.password_hash is None and max_admin.role is Role.ADMIN
    assert pending is not None and pending.assignee_id == max_admin.id
    assert pending.status is CaseStatus.PENDING and not pending.tags
    assert alice is not None
    assert sorted(a.email for a in agents if a.id != ada) == ["max@desk.test"]


def test_imported_history_sends_nothing_and_starts_no_clock_but_is_triaged(
    container: Container, account: tuple[fake.Account, str]
) -> None:
    _, url = account
    _import(container, url)
    assert _count(container, "outbox_mail") == 0
    assert _count(container, "sla_clocks") == 0
    assert _count(container, "webhook_deliveries") == 0
    case_ids = [_case_of(container, url, t) for t in (1001, 1002, 1004)]
    with container.uow() as uow:
        triaged = [uow.triage.case_triage(case_id) for case_id in case_ids]
        case = uow.cases.get(case_ids[0])
    # Triaged as a live case is when its customer writes, on the import's clock; the case
    # keeps the source's times.
    assert all(t is not None and t.triaged_at == container.clock.now() for t in triaged)
    assert case is not None and "sentiment" in case.custom_fields
    assert case.updated_at == _at("2024-03-02T15:30:00Z")


def test_what_is_left_out_is_reported_and_the_import_goes_on(
    container: Container, account: tuple[fake.Account, str]
) -> None:
    _, url = account
    watcher = _import(container, url)
    reasons = {(s.kind, s.source_id, s.reason) for s in watcher.skips}
    assert reasons == {
        ("custom_field", "999", "unknown field"),
        ("tickets", "1003", "broken record"),
        ("attachment", "7002", "larger than the desk takes"),
        ("satisfaction_ratings", "8003", "broken record"),
    }
    assert watcher.counts["tickets", "skipped"] == 1
    with container.uow() as uow:
        assert uow.zendesk_imports.imported(url, "ticket", "1003") is None


def test_a_second_run_imports_nothing(
    container: Container, account: tuple[fake.Account, str]
) -> None:
    _, url = account
    _import(container, url)
    before = {t: _count(container, t) for t in ("cases", "messages", "customers", "agents")}
    again = _import(container, url)
    after = {t: _count(container, t) for t in ("cases", "messages", "customers", "agents")}
    assert after == before
    assert not any(n for (_, outcome), n in again.counts.items() if outcome == "imported")
    assert not any(n for (_, outcome), n in again.counts.items() if outcome == "updated")


def test_a_ticket_changed_at_the_source_is_updated_and_its_new_comments_appended(
    container: Container, account: tuple[fake.Account, str]
) -> None:
    data, url = account
    _import(container, url)
    ticket = next(t for t in data.tickets if t["id"] == 1002)
    ticket.update(status="solved", tags=["late"], updated_at="2024-03-09T12:00:00Z")
    data.comments[1002].append(fake.comment(5102, 101, "It is on its way.", "2024-03-09T12:00:00Z"))
    watcher = _import(container, url)
    case_id = _case_of(container, url, 1002)
    with container.uow() as uow:
        case = uow.cases.get(case_id)
        bodies = [msg.body for msg in uow.cases.messages(case_id)]
        trail = [e.action for e in uow.audit.for_case(case_id)]
    assert case is not None and case.status is CaseStatus.SOLVED and case.tags == ["late"]
    assert case.updated_at == _at("2024-03-09T12:00:00Z")
    assert bodies == ["No parcel yet.", "It is on its way."]
    # The new comment is the agent's: no new words of the customer's to triage.
    assert trail == ["case.imported", "case.triaged", "case.import_updated"]
    assert watcher.counts["tickets", "updated"] == 1
    assert fill_case_facts(container.engine, only_missing=False) == 0


def _filed(container: Container, url: str) -> list[Any]:
    """What one source's tickets became, without the desk's own ids."""
    row = m.ZendeskImportIdRow
    query = select(row.kind, row.source_id, row.local_id).where(row.source == url)
    with container.engine.connect() as connection:
        rows = connection.execute(query).all()
    kinds = Counter(row.kind for row in rows)
    tickets = sorted((int(r.source_id), int(r.local_id)) for r in rows if r.kind == "ticket")
    with container.uow() as uow:
        filed = []
        for ticket_id, case_id in tickets:
            case = uow.cases.get(case_id)
            assert case is not None
            messages = [
                (msg.kind, msg.body, msg.created_at, [a.sha256 for a in msg.attachments])
                for msg in uow.cases.messages(case_id)
            ]
            survey = uow.portal.survey_for_case(case_id)
            filed.append(
                (
                    ticket_id,
                    case.subject,
                    case.status,
                    case.tags,
                    case.custom_fields,
                    case.created_at,
                    case.updated_at,
                    messages,
                    survey and survey.score,
                )
            )
    return [dict(kinds), filed]


@pytest.mark.parametrize("stop_after", [8, 12])
def test_an_interrupted_import_run_again_ends_as_one_that_was_not(
    container: Container, account: tuple[fake.Account, str], stop_after: int
) -> None:
    _, url = account
    with pytest.raises(KeyboardInterrupt):
        _import(container, url, Watcher(stop_after=stop_after))
    _import(container, url)
    with fake.serve(fake.account()) as other:
        _import(container, other)
        whole = _filed(container, other)
    assert _filed(container, url) == whole
    with container.uow() as uow:
        assert uow.zendesk_imports.checkpoint(url, "tickets") is not None


def test_a_refused_credential_stops_before_anything_is_written(
    container: Container, account: tuple[fake.Account, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = account
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("CAREDESK_ZENDESK_TOKEN", "not-the-token")
    result = CliRunner().invoke(app, ["import", "zendesk", "--url", url, "--email", fake.EMAIL])
    assert result.exit_code == 1
    assert "refused (401)" in result.output
    assert _count(container, "customers") == _count(container, "zendesk_import_ids") == 0


def test_the_command_prints_a_summary_and_writes_the_report(
    container: Container,
    account: tuple[fake.Account, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    _, url = account
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("CAREDESK_ZENDESK_TOKEN", fake.TOKEN)
    report = tmp_path / "skipped.jsonl"
    args = ["import", "zendesk", "--url", url, "--email", fake.EMAIL, "--report", str(report)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "tickets" in result.output and str(report) in result.output.replace("\n", "")
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert {(line["kind"], line["reason"]) for line in lines} >= {
        ("tickets", "broken record"),
        ("custom_field", "unknown field"),
    }
    assert _count(container, "cases") == 3


def test_the_command_on_a_database_not_migrated_says_what_to_run(
    account: tuple[fake.Account, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, url = account
    monkeypatch.setenv("CAREDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    monkeypatch.setenv("CAREDESK_ZENDESK_TOKEN", fake.TOKEN)
    report = tmp_path / "skipped.jsonl"
    args = ["import", "zendesk", "--url", url, "--email", fake.EMAIL, "--report", str(report)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "caredesk db upgrade" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not report.exists()


def test_imported_ticket_fields_are_answered_in_zendesks_shape(
    container: Container,
    account: tuple[fake.Account, str],
    client: TestClient,
    agent: dict[str, str],
) -> None:
    _, url = account
    _import(container, url)
    listed = client.get("/api/v2/ticket_fields.json", headers=agent)
    assert listed.status_code == 200, listed.text
    assert [f["id"] for f in listed.json()["ticket_fields"]] == [360001, 360002]
    one = client.get("/api/v2/ticket_fields/360002.json", headers=agent)
    assert one.status_code == 200, one.text
    field = one.json()["ticket_field"]
    assert (field["title"], field["type"], field["active"], field["position"]) == (
        "Reason",
        "tagger",
        True,
        2,
    )
    assert field["custom_field_options"][0]["value"] == "broken"
    assert field["url"] == "http://testserver/api/v2/ticket_fields/360002.json"
    for missing in (1, 2**64):
        gone = client.get(f"/api/v2/ticket_fields/{missing}.json", headers=agent)
        assert gone.status_code == 404 and gone.json()["error"] == "RecordNotFound"


@pytest.mark.parametrize(
    ("url", "said"),
    [("ftp://acme.example", "not an http(s) address"), ("http://127.0.0.1:9", "no answer")],
)
def test_an_address_that_is_no_account_stops_at_once(
    container: Container, zenpy_env: None, monkeypatch: pytest.MonkeyPatch, url: str, said: str
) -> None:
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    args = ["import", "zendesk", "--url", url, "--email", fake.EMAIL, "--token", fake.TOKEN]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert said in result.output
    assert _count(container, "zendesk_import_checkpoints") == 0


def test_a_file_larger_than_it_said_is_skipped_when_its_download_passes_the_limit(
    container: Container, account: tuple[fake.Account, str]
) -> None:
    data, url = account
    data.comments[1004][0]["attachments"][0]["size"] = 10
    watcher = _import(container, url)
    assert ("attachment", "7002") in {(s.kind, s.source_id) for s in watcher.skips}
    case_id = _case_of(container, url, 1004)
    with container.uow() as uow:
        messages = uow.cases.messages(case_id)
    assert [msg.attachments for msg in messages] == [[]]


def test_a_file_the_account_no_longer_serves_is_reported_and_the_comment_kept(
    container: Container, account: tuple[fake.Account, str]
) -> None:
    data, url = account
    del data.files["7001"]
    watcher = _import(container, url)
    (gone,) = [s for s in watcher.skips if s.source_id == "7001"]
    assert (gone.kind, gone.reason) == ("attachment", "could not be fetched: it answered 404")
    assert watcher.counts["tickets", "imported"] == 3
    with container.uow() as uow:
        kept = [m for m in uow.cases.messages(_case_of(container, url, 1001)) if not m.attachments]
    assert kept, "the comment is kept without its file"
