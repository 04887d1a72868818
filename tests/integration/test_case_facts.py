"""Each case's report facts follow it through every change, as the unit of work that makes the
change commits: equal, on the hand-made history of test_reports, to the answers known for it
and to what working them out afresh from the stored rows gives; filled after a migration for
the cases that have none, and all of them again on command."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from caredesk.adapters.db import models as m
from caredesk.adapters.db.migrate import fill_case_facts, upgrade
from caredesk.bootstrap import Container
from caredesk.cli.main import app
from tests.integration.demo_store import load_demo_store
from tests.integration.test_reports import history

__all__ = ["history"]  # the hand-made history of test_reports, a fixture here too

HOUR = 3600.0


def _facts(container: Container) -> dict[int, dict[str, Any]]:
    with container.engine.connect() as conn:
        rows = conn.execute(select(m.CaseFactsRow.__table__)).mappings().all()
    return {row["case_id"]: {k: v for k, v in row.items() if k != "case_id"} for row in rows}


def test_the_facts_of_each_case_are_those_its_history_gives(
    container: Container, history: dict[str, Any]
) -> None:
    wrong, big, quiet, waiting = history["cases"]
    facts = _facts(container)
    assert set(facts) == {wrong, big, quiet, waiting}
    # wrong: replied at 2h, the grant's notice a second reply, solved at 3h.
    assert facts[wrong]["agent_replies"] == 2
    assert facts[wrong]["first_reply_business_seconds"] == 2 * HOUR
    assert facts[wrong]["resolution_business_seconds"] == 3 * HOUR
    assert not facts[wrong]["wrote_again"] and not facts[wrong]["reopened"]
    # big: replied at 1h, the customer wrote at 7h after it was solved (reopened), solved
    # again at 18:00, an hour after the office closed: 8 working hours.
    assert facts[big]["agent_replies"] == 2
    assert facts[big]["wrote_again"] and facts[big]["reopened"]
    assert facts[big]["first_reply_business_seconds"] == HOUR
    assert facts[big]["resolution_business_seconds"] == 8 * HOUR
    assert facts[quiet]["agent_replies"] == 1
    assert facts[quiet]["resolution_business_seconds"] == 4.5 * HOUR
    # waiting: never answered, never solved, but counted in the office's calendar.
    assert facts[waiting]["agent_replies"] == 0
    assert facts[waiting]["first_reply_at"] is None
    assert facts[waiting]["first_reply_business_seconds"] is None
    assert facts[waiting]["resolution_business_seconds"] is None
    assert {f["calendar_id"] for f in facts.values()} == {facts[wrong]["calendar_id"]}
    assert facts[wrong]["calendar_id"] is not None


def test_the_kept_facts_are_what_working_them_out_afresh_gives(
    container: Container, history: dict[str, Any]
) -> None:
    kept = _facts(container)
    assert fill_case_facts(container.engine, only_missing=False) == 0
    assert _facts(container) == kept


def test_every_door_the_demo_store_came_in_by_kept_its_facts(container: Container) -> None:
    """The demo store is made through the desk's services (cases opened by mail, the portal and
    the API, replies, grants, approvals, solving, SLA clocks): what they kept is what working
    every case out afresh gives."""
    load_demo_store(
        container,
        seed=7,
        customers=25,
        admin_email="admin@caredesk.example",
        admin_password="demo-password-1",
    )
    kept = _facts(container)
    with container.engine.connect() as conn:
        cases = conn.scalar(select(func.count()).select_from(m.CaseRow))
    assert cases and len(kept) == cases
    assert any(f["wrote_again"] for f in kept.values())
    assert any(f["resolution_business_seconds"] for f in kept.values())
    assert fill_case_facts(container.engine, only_missing=False) == 0


def test_a_migration_fills_the_facts_of_cases_that_have_none(
    container: Container, history: dict[str, Any]
) -> None:
    kept = _facts(container)
    with container.engine.begin() as conn:
        conn.execute(delete(m.CaseFactsRow))
    upgrade(container.engine)
    assert _facts(container) == kept


def test_the_refresh_command_works_every_case_out_again(
    container: Container, history: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = _facts(container)
    wrong = history["cases"][0]
    with container.engine.begin() as conn:
        conn.execute(
            m.CaseFactsRow.__table__.update()
            .where(m.CaseFactsRow.case_id == wrong)
            .values(agent_replies=7)
        )
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("CAREDESK_SEMANTIC_SEARCH", "false")
    result = CliRunner().invoke(app, ["reports", "refresh"])
    assert result.exit_code == 0, result.output
    assert "4 cases" in result.output and "1 changed" in result.output
    assert _facts(container) == kept
