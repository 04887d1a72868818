"""A read-only unit of work is one transaction for a whole page: a service entering it again
joins it, a row read once is found again by its key, and the policy in force is read once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import delete

from caredesk.adapters.db.models import CaseTriageRow
from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM
from caredesk.domain.cases import Channel
from caredesk.services.cases import cases
from caredesk.services.engine import policy
from caredesk.services.knowledge import knowledge
from caredesk.services.knowledge.ports import ArticleFilter
from tests import factories
from tests.integration.money_store import load_policy
from tests.integration.statements import statements_sent, transactions_begun


@pytest.fixture
def case_id(container: Container) -> int:
    now = container.clock.now()
    factories.store(
        container,
        factories.customer("ada", now),
        factories.product("p1", "Lamp", factories.variant("v1", "p1", "20.00")),
        factories.order("O1", "ada", now, factories.line("v1", "p1", "Lamp", "20.00")),
    )
    view = cases.create_case(
        container.uow(),
        SYSTEM,
        now,
        customer_id="ada",
        subject="The lamp flickers",
        body="It flickers.",
        channel=Channel.EMAIL,
        order_ids=["O1"],
    )
    assert view.case.id is not None
    return view.case.id


def test_a_service_entering_an_open_read_only_unit_joins_its_transaction(
    container: Container, case_id: int
) -> None:
    reader = container.uow.read_only()
    with transactions_begun(container.engine) as begun, reader:
        first = cases.get_case(reader, SYSTEM, case_id)
        # The service entered and left the unit: it is still open, in the same transaction.
        assert reader.session is not None
        again = cases.get_case(reader, SYSTEM, case_id)
    assert begun == [1]
    assert first.case.id == again.case.id == case_id
    assert reader.session is None


def test_a_read_only_unit_finds_a_row_again_by_its_key_without_a_query(
    container: Container, case_id: int
) -> None:
    with container.uow.read_only() as reader:
        case = reader.cases.get(case_id)
        assert case is not None
        # Each read maps the row to a new domain object and lets go of the row.
        first = reader.customers.get(case.customer_id)
        order = reader.orders.get("O1")
        with statements_sent(container.engine) as statements:
            assert reader.customers.get(case.customer_id) == first
            assert reader.orders.get("O1") == order
            assert [o.id for o in reader.orders.many(["O1"])] == ["O1"]
    assert order is not None and order.lines[0].price == Decimal("20.00")
    # Only the list asks the database; the lookups by key find what the unit read.
    assert len(statements) == 1 + 3  # the orders and their lines, shipments and payments


def test_a_unit_that_writes_reads_every_row_afresh_when_asked(
    container: Container, case_id: int
) -> None:
    with container.uow() as writer:
        case = writer.cases.get(case_id)
        assert case is not None
        writer.orders.get("O1")
        with statements_sent(container.engine) as statements:
            writer.orders.get("O1")
    # A writer keeps no row it no longer refers to: what it reads again is read again.
    assert statements


def test_the_policy_in_force_is_read_once_per_unit_until_another_is_put_in_force(
    container: Container,
) -> None:
    load_policy(container, "reads-1")
    load_policy(container, "reads-2")
    with container.uow.read_only() as reader, statements_sent(container.engine) as statements:
        for _ in range(3):
            assert policy.policy_in_force(reader).version == "reads-2"
    assert len([s for s in statements if "policy_versions" in s]) == 1
    # The next unit finds the version in force among the process's kept configuration.
    with container.uow.read_only() as reader, statements_sent(container.engine) as statements:
        assert policy.policy_in_force(reader).version == "reads-2"
    assert not [s for s in statements if "policy_versions" in s]
    with container.uow() as writer:
        assert policy.policy_in_force(writer).version == "reads-2"
        writer.policies.activate("reads-1")
        assert policy.policy_in_force(writer).version == "reads-1"


def test_a_list_of_articles_is_read_in_one_statement(container: Container) -> None:
    for n in range(3):
        knowledge.create_article(
            container.uow(), SYSTEM, container.clock.now(), title=f"Lamp {n}", body="Text."
        )
    with statements_sent(container.engine) as statements:
        found, last = knowledge.list_articles(
            container.uow.read_only(), SYSTEM, ArticleFilter(), 10, None
        )
    assert len(found) == 3 and last is None
    # A short chunk was the last: the walk over the table does not ask again for nothing.
    assert len([s for s in statements if "kb_articles" in s]) == 1


@pytest.mark.parametrize("triaged", [True, False])
def test_the_case_page_s_first_read_brings_the_case_s_triage_or_its_absence(
    container: Container, case_id: int, triaged: bool
) -> None:
    if not triaged:
        with container.uow() as writer:
            writer.session.execute(delete(CaseTriageRow))  # type: ignore[attr-defined]
            writer.commit()
    with container.uow.read_only() as reader:
        case, newest = reader.cases.with_customers_newest(case_id, 10)
        assert case is not None and [c.id for c in newest] == [case_id]
        with statements_sent(container.engine) as statements:
            found = reader.triage.case_triage(case_id)
            assert reader.cases.get(case_id) == case
    assert (found is not None) is triaged
    assert statements == []
