"""Each test starts from an empty database numbered as a new one: emptying it between tests
(tests/conftest.py) leaves no row of the test before, and ids start again at 1."""

from __future__ import annotations

from sqlalchemy import func, select

from caredesk.adapters.db.models import CustomerRow
from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM
from caredesk.services.cases import cases, customers
from tests.conftest import _empty, tables_with_rows


def _open_a_case(container: Container) -> tuple[int, int]:
    """A new customer's case: its id and the customer's number."""
    now = container.clock.now()
    customer = customers.create_customer(
        container.uow(), SYSTEM, now, first_name="Ida", last_name="Empty", emails=["i@e.example"]
    )
    opened = cases.create_case(
        container.uow(), SYSTEM, now, customer_id=customer.id, subject="Hello", body="Hi there"
    )
    assert opened.case.id is not None
    with container.engine.connect() as conn:
        number = conn.execute(select(CustomerRow.seq).where(CustomerRow.id == customer.id))
        return opened.case.id, number.scalar_one()


def test_emptying_leaves_no_row_and_numbers_from_the_start(container: Container) -> None:
    with container.engine.connect() as conn:
        assert tables_with_rows(conn) == set()
    first = _open_a_case(container)
    with container.engine.connect() as conn:
        written = tables_with_rows(conn)
        assert {"customers", "cases", "messages", "audit_events"} <= written
        assert conn.execute(select(func.count()).select_from(CustomerRow)).scalar_one() == 1

    _empty(container.engine)

    with container.engine.connect() as conn:
        assert tables_with_rows(conn) == set()
    assert first == (1, 1)
    assert _open_a_case(container) == first
