"""Benchmark the empowerment engine: plans per second and grants per second.

A customer with a rich history (200 orders, 50 past cases) is generated on a fresh
database; the planner plans one of their cases again and again, then grants (refund,
credit, keep-the-item with ledger entries, order changes, message and audit in one
transaction) run on fresh cases. Prints p50/p99 latency and throughput per backend.

    python bench/policy.py [--backend sqlite|postgresql ...] [--plans N] [--grants N] [--write-docs]
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from _common import (
    PG_DEFAULT,
    Conditions,
    add_run_arguments,
    database,
    percentile,
    pg_answers,
    write_section,
)
from caredesk.adapters.db.migrate import upgrade
from caredesk.bootstrap import Container, bootstrap
from caredesk.domain.agents import SYSTEM, Role
from caredesk.domain.catalog import Product, Variant
from caredesk.domain.customers import Address, Customer, PaymentKind, PaymentMethod
from caredesk.domain.orders import (
    Order,
    OrderLine,
    OrderStatus,
    PaymentTransaction,
    Shipment,
    TransactionType,
)
from caredesk.services.access import auth
from caredesk.services.cases import cases
from caredesk.services.engine import grants, policy
from caredesk.settings import Settings

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
D = Decimal


class FixedClock:
    def now(self) -> datetime:
        return NOW


def seed(container: Container, orders: int, past_cases: int) -> tuple[int, list[int]]:
    policy.load_policy(container.uow(), SYSTEM, NOW, policy.packaged_policy_text())
    with container.uow() as uow:
        uow.customers.add(
            Customer(
                id="rich",
                first_name="Rita",
                last_name="Rich",
                emails=["rita@example.com"],
                addresses=[Address("1 Long Rd", city="Leeds", country="UK")],
                tier="gold",
                payment_methods=[
                    PaymentMethod("card_rita", PaymentKind.CREDIT_CARD, "visa", "4242"),
                    PaymentMethod("gift_rita", PaymentKind.GIFT_CARD, balance=D("100.00")),
                ],
                created_at=NOW,
                updated_at=NOW,
            )
        )
        for p in range(30):
            uow.products.add(
                Product(
                    id=f"p{p}",
                    name=f"Product {p}",
                    variants=[
                        Variant(f"v{p}-{i}", f"p{p}", {"size": str(i)}, D(20 + p + i), cost=D(8))
                        for i in range(6)
                    ],
                )
            )
        for o in range(orders):
            lines = [
                OrderLine(f"v{(o + k) % 30}-1", f"p{(o + k) % 30}", "Item", D("21.00"))
                for k in range(2)
            ]
            uow.orders.add(
                Order(
                    id=f"W{o:05d}",
                    customer_id="rich",
                    status=OrderStatus.DELIVERED,
                    address=Address("1 Long Rd"),
                    lines=lines,
                    payments=[PaymentTransaction(TransactionType.PAYMENT, D("42.00"), "card_rita")],
                    shipments=[
                        Shipment(
                            [f"T{o}"],
                            [line.variant_id for line in lines],
                            delivered_at=NOW - timedelta(days=o % 25 + 1),
                        )
                    ],
                    placed_at=NOW - timedelta(days=o * 3 + 5),
                )
            )
        uow.commit()
    agent = auth.create_agent(
        container.uow(),
        SYSTEM,
        container.hasher,
        NOW,
        email="bench@desk.example",
        name="Bench",
        role=Role.AGENT,
        password=None,
    )
    actor = agent.actor()
    case_ids = []
    for i in range(past_cases + 1):
        view = cases.create_case(
            container.uow(),
            actor,
            NOW,
            customer_id="rich",
            subject=f"Wrong item in order {i}",
            body="The parcel had the wrong item.",
            order_ids=[f"W{i:05d}"],
            custom_fields={"issue_type": "wrong_item"},
        )
        assert view.case.id is not None
        case_ids.append(view.case.id)
    assert agent.id is not None
    return agent.id, case_ids


def seed_grant_cases(container: Container, agent_id: int, count: int) -> list[int]:
    """One first-time buyer per grant, so the per-customer guardrail never interferes."""
    from caredesk.domain.agents import Actor

    actor = Actor(role=Role.AGENT, agent_id=agent_id)
    with container.uow() as uow:
        for i in range(count):
            uow.customers.add(
                Customer(
                    id=f"buyer{i}",
                    first_name="Bea",
                    last_name=f"Buyer{i}",
                    emails=[f"bea{i}@example.com"],
                    payment_methods=[
                        PaymentMethod(f"card_b{i}", PaymentKind.CREDIT_CARD, "visa", "1111")
                    ],
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            uow.orders.add(
                Order(
                    id=f"B{i:05d}",
                    customer_id=f"buyer{i}",
                    status=OrderStatus.DELIVERED,
                    address=Address("2 Short St"),
                    lines=[OrderLine("v1-1", "p1", "Item", D("18.00"))],
                    payments=[
                        PaymentTransaction(TransactionType.PAYMENT, D("18.00"), f"card_b{i}")
                    ],
                    shipments=[Shipment([f"B{i}"], ["v1-1"], delivered_at=NOW - timedelta(days=2))],
                    placed_at=NOW - timedelta(days=6),
                )
            )
        uow.commit()
    ids = []
    for i in range(count):
        view = cases.create_case(
            container.uow(),
            actor,
            NOW,
            customer_id=f"buyer{i}",
            subject="Wrong item",
            order_ids=[f"B{i:05d}"],
            custom_fields={"issue_type": "wrong_item"},
        )
        assert view.case.id is not None
        ids.append(view.case.id)
    return ids


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def run(backend: str, pg_url: str, plans: int, grant_count: int) -> dict[str, object]:
    with database(backend, pg_url) as url:
        container = bootstrap(Settings(database_url=url, log_level="warning"), clock=FixedClock())
        upgrade(container.engine)
        started = time.perf_counter()
        agent_id, case_ids = seed(container, orders=200, past_cases=50)
        seed_s = time.perf_counter() - started
        from caredesk.domain.agents import Actor

        actor = Actor(role=Role.AGENT, agent_id=agent_id)
        # The planner ranks what this agent could grant on a rich customer's case.
        for _ in range(20):
            grants.plan_case(container.uow.read_only(), actor, NOW, case_ids[0])
        plan_ms = timed(
            lambda: grants.plan_case(container.uow.read_only(), actor, NOW, case_ids[0]), plans
        )
        # Each grant executes a refund, a store credit and keep-the-item on its own case.
        lead = Actor(role=Role.LEAD, agent_id=agent_id)
        grant_cases = seed_grant_cases(container, agent_id, grant_count)
        targets = iter(grant_cases)

        def one_grant() -> None:
            case_id = next(targets)
            outcome = grants.grant_on_case(
                container.uow(),
                lead,
                NOW,
                case_id,
                ["refund-full", "shipping-credit", "keep-item"],
                idempotency_key=f"bench-{case_id}",
            )
            assert outcome.grant.status.value == "executed", outcome.grant.status

        grant_ms = timed(one_grant, len(grant_cases))
        with container.uow() as uow:
            balanced = uow.ledger.trial_balance() == 0
        container.close()
    return {
        "backend": backend,
        "seed_s": seed_s,
        "plans": len(plan_ms),
        "plan_p50": percentile(plan_ms, 50),
        "plan_p99": percentile(plan_ms, 99),
        "plans_per_s": 1000 / statistics.mean(plan_ms),
        "grants": len(grant_ms),
        "grant_p50": percentile(grant_ms, 50),
        "grant_p99": percentile(grant_ms, 99),
        "grants_per_s": 1000 / statistics.mean(grant_ms),
        "ledger_balanced": balanced,
    }


def table(results: list[dict[str, object]]) -> str:
    rows = [
        "| backend | plans | plan p50 (ms) | plan p99 (ms) | plans/s | grants "
        "| grant p50 (ms) | grant p99 (ms) | grants/s | ledger balanced |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rows.append(
            f"| {r['backend']} | {r['plans']} | {r['plan_p50']:.2f} | {r['plan_p99']:.2f} | "
            f"{r['plans_per_s']:.0f} | {r['grants']} | {r['grant_p50']:.2f} | "
            f"{r['grant_p99']:.2f} | "
            f"{r['grants_per_s']:.0f} | {r['ledger_balanced']} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", default=PG_DEFAULT)
    parser.add_argument("--plans", type=int, default=500)
    parser.add_argument("--grants", type=int, default=50)
    add_run_arguments(parser)
    args = parser.parse_args()
    conditions = Conditions.begin(args)
    backends = args.backend or (["sqlite", "postgresql"] if pg_answers() else ["sqlite"])
    results = [run(b, args.pg_url, args.plans, args.grants) for b in backends]
    print(table(results))
    if args.write_docs:
        command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
        write_section(
            "policy",
            "## Empowerment engine: plans and grants\n\n"
            "A gold customer with 200 delivered orders and 51 cases; the planner ranks the "
            "bundles an agent may grant on one case (facts, eligibility, dry-run of every "
            "remedy, authority, expected value); each grant executes refund + shipping credit "
            "+ keep-the-item with order change, ledger entries, customer message and audit in "
            "one transaction.\n\n"
            f"{table(results)}\n\n"
            f"Command: `{command}`",
            conditions,
        )


if __name__ == "__main__":
    main()
