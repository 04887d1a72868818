"""The queues' counts at any number of open cases: one statement that the database answers
from an index alone, without reading the cases' rows."""

from __future__ import annotations

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
