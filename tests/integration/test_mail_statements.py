"""What one inbound message costs the database: the statements of its one transaction, pinned
per new thread and per reply, so that a change that makes intake read or write more fails here.
"""

from __future__ import annotations

import re

import pytest

from caredesk.bootstrap import Container
from caredesk.domain.audit import AuditEvent
from caredesk.services.channels.mail_in import IntakeResult, Outcome
from caredesk.settings import Settings
from tests.integration.statements import statements_sent
from tests.integration.test_mail_in import build, deliver

# Per message once the configuration is kept, SQLite's BEGIN IMMEDIATE included (PostgreSQL's
# BEGIN is no statement the driver is handed, and a queued job sends a NOTIFY). Before the audit
# lines went in one statement, the acknowledgement's job in one, the stored raw source in one
# and a case's locking read in one, before the look-up of the sender's address brought its
# customer and the opened case was held for its handlers, and before a case's clocks were
# known to exist once saved, they were 32, 28 and 24 on SQLite, 30, 27 and 23 on PostgreSQL.
# A reply changes its case, so on PostgreSQL it tells the open consoles (one NOTIFY, shared with
# a queued job's where there is one). The case's report facts cost a read of them as they
# were worked out again, and a write where they changed (a new case's first facts, a case whose
# customer wrote after its first reply): 2, 2 and 1 of these.
STATEMENTS = {
    "sqlite": {"new sender": 24, "known sender": 21, "reply": 19},
    "postgresql": {"new sender": 24, "known sender": 21, "reply": 19},
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"mail_rate_limit_per_hour": 100})


def _sent(container: Container, raw: bytes) -> tuple[IntakeResult, list[str]]:
    with statements_sent(container.engine) as statements:
        result = deliver(container, raw)
    return result, statements


def _inserts_into(table: str, statements: list[str]) -> int:
    return sum(1 for s in statements if re.match(rf"INSERT INTO {table}\b", s))


def test_an_inbound_message_costs_a_pinned_number_of_statements(container: Container) -> None:
    # The first message reads the configuration the process keeps after it.
    first = deliver(container, build(sender="Maya Hart <maya@example.net>", message_id="<m0@x>"))
    assert first.outcome is Outcome.NEW_CASE

    new_sender, opened = _sent(
        container, build(sender="Ada Byron <ada@example.net>", message_id="<m1@x>")
    )
    known_sender, again = _sent(
        container, build(sender="Maya Hart <maya@example.net>", message_id="<m2@x>")
    )
    reply, replied = _sent(
        container,
        build(
            sender="Maya Hart <maya@example.net>",
            subject="Re: Wrong items",
            body="Any news?",
            message_id="<m3@x>",
            in_reply_to="<m2@x>",
        ),
    )
    assert [new_sender.outcome, known_sender.outcome, reply.outcome] == [
        Outcome.NEW_CASE,
        Outcome.NEW_CASE,
        Outcome.FILED,
    ]
    assert reply.case_id == known_sender.case_id
    sent = {"new sender": opened, "known sender": again, "reply": replied}
    # Every audit line of a message in one statement, and the raw source stored in one.
    assert {name: _inserts_into("audit_events", s) for name, s in sent.items()} == dict.fromkeys(
        sent, 1
    )
    assert {name: _inserts_into("blobs", s) for name, s in sent.items()} == dict.fromkeys(sent, 1)
    assert not any(s.startswith("SAVEPOINT") for s in opened + again), "the job in one statement"
    assert {name: len(s) for name, s in sent.items()} == STATEMENTS[container.engine.dialect.name]


def test_every_audit_line_of_a_message_is_kept_in_order(container: Container) -> None:
    result = deliver(container, build(sender="Ada Byron <ada@example.net>", message_id="<m1@x>"))
    assert result.case_id is not None
    with container.uow() as uow:
        trail = uow.audit.for_case(result.case_id)
        owner = uow.customers.email_owner("ada@example.net")
        assert owner is not None
        customer_lines = uow.audit.for_entity("customer", owner)
    assert [e.action for e in trail] == ["mail.queued", "case.created", "case.triaged"]
    assert [e.id for e in trail] == sorted(e.id for e in trail if e.id is not None)
    assert trail[0].after == {"to": "ada@example.net", "template": "acknowledgement"}
    assert [(e.action, e.case_id) for e in customer_lines] == [("customer.created", None)]


def test_a_transaction_reads_the_audit_lines_it_appended(container: Container) -> None:
    line = AuditEvent(
        at=container.clock.now(),
        actor="system",
        action="case.noted",
        entity_type="case",
        entity_id="7",
        case_id=7,
        after={"why": "read back before the commit"},
    )
    with container.uow() as uow:
        uow.audit.append(line)
        assert [e.action for e in uow.audit.for_case(7)] == ["case.noted"]
        assert [e.action for e in uow.audit.for_entity("case", "7")] == ["case.noted"]
        uow.commit()
    with container.uow() as uow:
        assert len(uow.audit.for_case(7)) == 1, "written once"
