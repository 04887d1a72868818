"""Retention on a real database: old raw mail, old attachments and long-closed cases go,
everything younger stays; a dry run only counts; the worker's timer applies the rules."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text
from typer.testing import CliRunner

from caredesk.adapters.mail.parse import parse_mail
from caredesk.bootstrap import Container, bootstrap
from caredesk.cli.main import app as cli
from caredesk.domain.agents import SYSTEM, Role
from caredesk.domain.cases import CaseStatus
from caredesk.domain.customers import Customer
from caredesk.domain.erasure import RetentionRules
from caredesk.services.cases import cases
from caredesk.services.cases.cases import NewAttachment
from caredesk.services.channels.mail_in import receive_mail
from caredesk.services.core.jobs import Worker
from caredesk.services.privacy import erasure
from tests.conftest import ManualClock
from tests.integration.own_database import database_url, migrated_engine  # noqa: F401

SUPPORT = "support@caredesk.example"
RULES = RetentionRules(raw_mail_days=30, attachment_days=30, closed_case_days=30)


def _mail(body: str, attachment: bytes) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = "Rita Keeper <rita@example.org>"
    message["To"] = SUPPORT
    message["Subject"] = body
    message["Message-ID"] = make_msgid(domain="example.org")
    message.set_content(body)
    message.add_attachment(attachment, maintype="application", subtype="pdf", filename="a.pdf")
    return message.as_bytes()


def _receive(container: Container, body: str, attachment: bytes) -> int:
    result = receive_mail(
        container.uow(),
        _mail(body, attachment),
        now=container.clock.now(),
        config=container.mail,
        parser=parse_mail,
    )
    assert result.case_id is not None
    return result.case_id


def _api_case(container: Container, subject: str, attachment: bytes) -> int:
    view = cases.create_case(
        container.uow(),
        SYSTEM,
        container.clock.now(),
        customer_id="rita",
        subject=subject,
        body=subject,
        attachments=[NewAttachment("b.pdf", "application/pdf", attachment)],
    )
    assert view.case.id is not None
    return view.case.id


@pytest.fixture
def aged(container: Container, clock: ManualClock) -> dict[str, int]:
    """Cases from 40 days ago (one solved, one still open) and from today (one solved)."""
    now = clock.now()
    with container.uow() as uow:
        uow.customers.add(
            Customer(
                id="rita",
                first_name="Rita",
                last_name="Keeper",
                emails=["rita@example.org"],
                created_at=now,
                updated_at=now,
            )
        )
        uow.commit()
    old_mail = _receive(container, "old mail case", b"old mail attachment")
    cases.change_status(container.uow(), SYSTEM, clock.now(), old_mail, CaseStatus.SOLVED)
    old_open = _api_case(container, "old open case", b"old api attachment")
    clock.advance(days=40)
    new_mail = _receive(container, "new mail case", b"new mail attachment")
    new_solved = _api_case(container, "new solved case", b"new api attachment")
    cases.change_status(container.uow(), SYSTEM, clock.now(), new_solved, CaseStatus.SOLVED)
    return {
        "old_mail": old_mail,
        "old_open": old_open,
        "new_mail": new_mail,
        "new_solved": new_solved,
    }


def _everything(engine: Engine) -> list[tuple[str, tuple[Any, ...]]]:
    with engine.connect() as conn:
        return [
            (name, tuple(row))
            for name in sorted(inspect(engine).get_table_names())
            for row in conn.execute(text(f'SELECT * FROM "{name}"'))
        ]


def _case(container: Container, case_id: int) -> Any:
    return cases.get_case(container.uow(), SYSTEM, case_id)


def _blob(container: Container, content: bytes) -> bool:
    with container.engine.connect() as conn:
        rows = conn.execute(text("SELECT content FROM blobs")).scalars().all()
    return any(content in bytes(r) for r in rows)


def test_a_dry_run_counts_and_changes_nothing(container: Container, aged: dict[str, int]) -> None:
    before = _everything(container.engine)
    report = erasure.run_retention(
        container.uow(), SYSTEM, container.clock.now(), RULES, dry_run=True
    )
    assert report.dry_run
    assert report.counts == {"attachments": 2, "cases": 1, "raw_mail": 1}
    assert _everything(container.engine) == before


def test_a_run_removes_what_is_older_than_the_rules_and_nothing_younger(
    container: Container, aged: dict[str, int]
) -> None:
    report = erasure.run_retention(
        container.uow(), SYSTEM, container.clock.now(), RULES, compactor=container.storage
    )
    assert report.counts == {"attachments": 2, "cases": 1, "raw_mail": 1}
    old_mail = _case(container, aged["old_mail"])
    assert old_mail.case.subject == "[erased]"
    assert all(m.body == "[erased]" and not m.attachments for m in old_mail.messages)
    old_open = _case(container, aged["old_open"])
    assert old_open.case.subject == "old open case"  # not closed: its text stays
    assert old_open.messages[0].body == "old open case"
    assert old_open.messages[0].attachments == []  # but the old attachment went
    for young in ("new_mail", "new_solved"):
        view = _case(container, aged[young])
        assert view.case.subject != "[erased]"
        assert view.messages[0].attachments
    assert not _blob(container, b"old mail attachment")
    assert not _blob(container, b"old api attachment")
    assert _blob(container, b"new mail attachment") and _blob(container, b"new api attachment")
    with container.engine.connect() as conn:
        raw = conn.execute(
            text("SELECT case_id FROM mail_messages WHERE raw_sha256 IS NOT NULL")
        ).scalars()
        assert aged["new_mail"] in set(raw) and aged["old_mail"] not in set(raw)
        audited = conn.execute(
            text("SELECT actor FROM audit_events WHERE action = 'retention.ran'")
        ).scalars()
        assert list(audited) == ["system"]
    # Run again: nothing is left to remove, and a run that removed nothing is not audited.
    again = erasure.run_retention(container.uow(), SYSTEM, container.clock.now(), RULES)
    assert again.counts == {}


def test_no_rule_keeps_everything(container: Container, aged: dict[str, int]) -> None:
    before = _everything(container.engine)
    report = erasure.run_retention(
        container.uow(), SYSTEM, container.clock.now(), RetentionRules.of(0, 0, 0)
    )
    assert report.counts == {}
    assert _everything(container.engine) == before


def test_only_an_admin_runs_retention(container: Container, aged: dict[str, int]) -> None:
    from caredesk.domain.agents import Actor
    from caredesk.domain.errors import Forbidden

    with pytest.raises(Forbidden):
        erasure.run_retention(
            container.uow(), Actor(role=Role.LEAD, agent_id=1), container.clock.now(), RULES
        )


@pytest.fixture
def retaining(container: Container, clock: ManualClock) -> Iterator[Container]:
    settings = container.settings.model_copy(
        update={"retention_closed_case_days": 30, "retention_attachment_days": 30}
    )
    built = bootstrap(settings, clock=clock)
    yield built
    built.close()


def test_the_worker_timer_applies_the_rules(retaining: Container, aged: dict[str, int]) -> None:
    assert retaining.jobs is not None
    assert erasure.RETENTION_TIMER in retaining.jobs.timers
    Worker(retaining.job_context(), retaining.jobs, name="test").run_timers()
    assert _case(retaining, aged["old_mail"]).case.subject == "[erased]"
    assert _case(retaining, aged["new_solved"]).case.subject == "new solved case"
    # Raw mail has no rule here: the young mail keeps its source, as does the old one's
    # neighbour; the old case's mail went with the case.
    with retaining.engine.connect() as conn:
        kept = conn.execute(
            text("SELECT case_id FROM mail_messages WHERE raw_sha256 IS NOT NULL")
        ).scalars()
        assert aged["new_mail"] in set(kept)


def test_the_command_line_reports_a_dry_run_and_a_run(
    container: Container, aged: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("CAREDESK_SEMANTIC_SEARCH", "false")
    runner = CliRunner()
    unset = runner.invoke(cli, ["retention", "run"])
    assert unset.exit_code == 0 and "everything is kept" in unset.output
    # The command runs on the real clock, long after the fixture's days: every attachment
    # is older than a day by then.
    monkeypatch.setenv("CAREDESK_RETENTION_ATTACHMENT_DAYS", "1")
    before = _everything(container.engine)
    dry = runner.invoke(cli, ["retention", "run", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output and "attachments" in dry.output and "4" in dry.output
    assert _everything(container.engine) == before
    real = runner.invoke(cli, ["retention", "run"])
    assert real.exit_code == 0, real.output
    assert "retention: removed" in real.output and "4" in real.output
    for key in aged:
        assert _case(container, aged[key]).messages[0].attachments == []
