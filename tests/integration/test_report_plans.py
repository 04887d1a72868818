"""The reports read the period's cases through an index, and each case's replies, postings and
orders through theirs: no statement walks every case, message, ledger posting or order. Each
plan is the database's own for the statement a report sent (PostgreSQL told to avoid
sequential scans, so that the plan shows whether an index can serve it at all)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM
from caredesk.services.reports import reports, retention
from caredesk.services.reports.filters import parse_filters
from tests.integration.statements import query_plan, reads, sent_with_parameters
from tests.integration.test_reports import DAY, history

__all__ = ["history"]  # the hand-made history of test_reports, a fixture here too


def _plans(engine: Engine, sent: list[tuple[str, Any]]) -> list[str]:
    return [query_plan(engine, *read) for read in reads(sent)]


def _report_plans(container: Container, measure: str, group_by: str | None = None) -> str:
    filters = parse_filters({"start": DAY, "end": DAY}, container.clock.now().date())
    now = container.clock.now()
    with sent_with_parameters(container.engine) as sent:
        reports.report(container.uow.read_only(), SYSTEM, now, measure, filters, group_by)
    return "\n".join(_plans(container.engine, sent))


def _walks(found: str, dialect: str, table: str) -> bool:
    """Whether a plan reads every row of the table."""
    if dialect == "sqlite":
        return any(line.strip().startswith(f"SCAN {table}") for line in found.splitlines())
    return f"Seq Scan on {table}" in found


def test_a_report_finds_its_cases_facts_by_index_and_reads_nothing_else(
    container: Container, history: dict[str, Any]
) -> None:
    """A case's replies, reopening, calendar and its own columns come from its facts row,
    found through the period's index: the report reads no case row, message, audit line or
    clock."""
    dialect = container.engine.dialect.name
    found = _report_plans(container, "first_contact_resolution", "agent")
    assert "ix_case_facts_created" in found, found
    assert not _walks(found, dialect, "case_facts"), found
    for table in ("cases", "messages", "audit_events", "sla_clocks"):
        assert not re.search(rf"\b{table}\b", found), (table, found)


def test_the_grants_report_reads_each_grants_postings_by_index(
    container: Container, history: dict[str, Any]
) -> None:
    dialect = container.engine.dialect.name
    for group_by in (None, "agent", "approver"):
        found = _report_plans(container, "grants", group_by)
        assert not _walks(found, dialect, "ledger_entries"), (group_by, found)
        assert not _walks(found, dialect, "cases"), (group_by, found)


def test_the_retention_report_finds_its_solved_cases_and_orders_by_index(
    container: Container, history: dict[str, Any]
) -> None:
    dialect = container.engine.dialect.name
    now = container.clock.now()
    start = datetime.fromisoformat(DAY).replace(tzinfo=UTC)
    with sent_with_parameters(container.engine) as sent:
        retention.retention(container.uow.read_only(), SYSTEM, now, start, start + timedelta(1))
    found = "\n".join(_plans(container.engine, sent))
    assert "ix_cases_solved" in found, found
    assert "ix_orders_customer_placed" in found, found
    for table in ("cases", "orders"):
        assert not _walks(found, dialect, table), (table, found)


def test_postgresql_compiles_no_statement_just_in_time(container: Container) -> None:
    """A report's per-case subqueries raise the planner's estimate over jit_above_cost, and
    compiling took longer than the report itself."""
    if container.engine.dialect.name != "postgresql":
        return
    with container.engine.connect() as conn:
        assert conn.execute(text("SHOW jit")).scalar() == "off"
