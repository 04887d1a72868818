"""The queues' counts at any number of open cases: one statement that the database answers
from an index alone, without reading the cases' rows."""

from __future__ import annotations

from sqlalchemy import select

from caredesk.adapters.db import models as m
from caredesk.bootstrap import Container
from caredesk.domain.agents import Actor, Role
from caredesk.services.console import console
from tests.integration.statements import query_plan, reads, sent_with_parameters
from tests.integration.test_console_pages import load_console_store

COUNTS_INDEX = "ix_cases_queue_counts"


def test_the_queue_counts_read_only_the_covering_index(container: Container) -> None:
    store = load_console_store(container)
    with store.uow.read_only() as uow:
        lead = next(a for a in uow.agents.all() if a.role is Role.LEAD and a.team_ids)
    actor = Actor(role=lead.role, agent_id=lead.id)
    with sent_with_parameters(store.engine) as sent:
        counts = console.queue_counts(store.uow.read_only(), actor)
    assert counts.open > 0
    (counting,) = [(s, p) for s, p in reads(sent) if "count(*) FILTER" in s]
    found = query_plan(store.engine, *counting)
    if store.engine.dialect.name == "sqlite":
        # A covering index: SQLite walks the index's entries, never the cases' wide rows.
        assert f"USING COVERING INDEX {COUNTS_INDEX}" in found, found
    else:
        # Whether PostgreSQL skips the rows too depends on its visibility map (VACUUM), not on
        # the statement: the index is what it can be served by.
        assert COUNTS_INDEX in found, found


def test_the_case_pages_first_read_finds_its_cases_by_index(container: Container) -> None:
    """The case with its customer's newest cases: PostgreSQL once answered `id = :case OR id IN
    (…)` by reading every case and every tag, 68 ms at 100,000 open cases."""
    store = load_console_store(container)
    with store.engine.connect() as conn:
        case_id = conn.scalar(select(m.CaseRow.id).order_by(m.CaseRow.id.desc()).limit(1))
    with sent_with_parameters(store.engine) as sent, store.uow.read_only() as uow:
        case, newest = uow.cases.with_customers_newest(case_id, 10)
    assert case is not None and case.id == case_id and newest
    (first,) = [(s, p) for s, p in reads(sent) if "case_tags" in s]
    found = query_plan(store.engine, *first)
    if store.engine.dialect.name == "sqlite":
        assert "SCAN cases" not in found, found
    else:
        # Each case looked up by its key, and its tags by theirs; not a walk over every case
        # filtered by `id = :case OR id IN (…)`.
        assert "OR (hashed SubPlan" not in found, found
        assert "Index Cond: (case_id = cases.id)" in found, found
