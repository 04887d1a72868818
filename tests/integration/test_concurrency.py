"""Changes that meet at the same moment, each in its own thread and unit of work: the desk
resolves what the database undid, and no client sees a conflict it did not cause."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import select

from caredesk.adapters.db import models as m
from caredesk.adapters.mail.parse import parse_mail
from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM
from caredesk.domain.customers import Customer
from caredesk.services import customers
from caredesk.services.mail_in import MailConfig, Outcome, receive_mail
from tests.integration.test_mail_in import build

T = TypeVar("T")
THREADS = 12


def together(count: int, work: Callable[[int], T]) -> list[T | BaseException]:
    """Run `work(0..count-1)` in as many threads, released at once; results or errors."""
    start = threading.Barrier(count)

    def run(index: int) -> T | BaseException:
        start.wait()
        try:
            return work(index)
        except Exception as exc:  # every outcome is reported, a failure included
            return exc

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def failures(results: list[T | BaseException]) -> list[BaseException]:
    return [r for r in results if isinstance(r, BaseException)]


def customer_numbers(container: Container) -> dict[str, int]:
    with container.engine.connect() as conn:
        rows = conn.execute(select(m.CustomerRow.id, m.CustomerRow.seq)).all()
    return dict(rows)


# --- customers created at once ------------------------------------------------------------


def test_customers_created_at_once_each_get_their_own_number(container: Container) -> None:
    now = container.clock.now()

    def create(index: int) -> Customer:
        return customers.create_customer(
            container.uow(), SYSTEM, now,
            first_name=f"Twin{index}", last_name="Parallel", emails=[f"twin{index}@example.com"],
        )  # fmt: skip

    results = together(THREADS, create)
    assert failures(results) == []
    numbers = customer_numbers(container)
    assert len(numbers) == THREADS
    assert len(set(numbers.values())) == THREADS
    assert all(n > 0 for n in numbers.values())
    # Listed in the order of their numbers, every customer shows up once across pages.
    listed: list[str] = []
    cursor = None
    while True:
        page = customers.search_customers(container.uow(), SYSTEM, None, 5, cursor)
        listed.extend(c.id for c in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert listed == sorted(numbers, key=numbers.__getitem__)


def test_mail_from_new_senders_at_once_opens_a_case_and_a_customer_for_each(
    container: Container,
) -> None:
    config = MailConfig.of(container.settings)

    def deliver(index: int) -> Outcome:
        raw = build(sender=f"Sender {index} <sender{index}@example.net>", subject=f"Hello {index}")
        delivery = receive_mail(
            container.uow(), raw, now=container.clock.now(), config=config, parser=parse_mail
        )
        return delivery.outcome

    results = together(THREADS, deliver)
    assert failures(results) == []
    assert results == [Outcome.NEW_CASE] * THREADS
    numbers = customer_numbers(container)
    assert len(numbers) == len(set(numbers.values())) == THREADS
