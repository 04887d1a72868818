"""Grants released together on PostgreSQL: the sums a limit reads count every grant that
committed before, so an agent's daily limit and a team budget hold under load.

(SQLite runs one writer at a time, so only PostgreSQL can overshoot.)"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from caredesk.bootstrap import Container
from caredesk.domain.agents import Role
from caredesk.domain.grants import GrantStatus
from caredesk.services.engine import grants
from caredesk.services.engine.grants import GrantOutcome
from tests.integration.money_store import (
    add_agent,
    add_customer,
    add_team,
    load_policy,
    open_case,
    with_typed_credit,
)

pytestmark = pytest.mark.postgres_only

D = Decimal
PARALLEL = 20
EACH = D("50.00")
DAILY_LIMIT = D("600")
TEAM_BUDGET = D("400")


def test_parallel_grants_never_overshoot_a_daily_limit_or_a_team_budget(
    container: Container,
) -> None:
    load_policy(
        container,
        "concurrency-test",
        remedies=with_typed_credit(),
        authority={
            "agent": {"per_grant": 100, "per_case": 200, "per_day": str(DAILY_LIMIT)},
            "lead": {"per_grant": 500, "per_case": 1000, "per_day": 5000},
        },
        budgets=[{"team": "Front line", "period": "day", "amount": str(TEAM_BUDGET)}],
    )
    agent = add_agent(container, "ana@desk.example", Role.AGENT, team="Front line")
    add_team(container, "Billing")
    # Half the cases sit with the budgeted team: both bounds are reached, by different grants.
    cases = []
    for n in range(PARALLEL):
        add_customer(container, f"c{n}", {f"O{n}": "100.00"})
        team = "Front line" if n % 2 else "Billing"
        cases.append(open_case(container, agent, f"c{n}", order_ids=[f"O{n}"], team=team))
    now = container.clock.now()
    start = threading.Barrier(PARALLEL)
    outcomes: dict[int, GrantOutcome] = {}
    failures: list[BaseException] = []

    def grant(case_id: int) -> None:
        start.wait()
        try:
            outcomes[case_id] = grants.grant_on_case(
                container.uow(),
                agent,
                now,
                case_id,
                ["typed-credit"],
                params={"typed-credit": {"amount": str(EACH)}},
            )
        except BaseException as exc:  # reported by the main thread, which asserts on it
            failures.append(exc)

    threads = [threading.Thread(target=grant, args=(case_id,)) for case_id in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    executed = [o.grant for o in outcomes.values() if o.grant.status is GrantStatus.EXECUTED]
    team_spent = sum((g.cost for g in executed if cases.index(g.case_id or 0) % 2), D(0))
    assert sum((g.cost for g in executed), D(0)) == DAILY_LIMIT
    assert team_spent <= TEAM_BUDGET
    asked = [o for o in outcomes.values() if o.grant.status is GrantStatus.PENDING_APPROVAL]
    assert len(asked) == PARALLEL - len(executed)
    for outcome in asked:
        assert outcome.approval is not None and outcome.approval.approver_role == "lead"
        assert any(
            "daily limit" in reason or "Front line budget" in reason
            for reason in outcome.approval.reasons
        )
    with container.uow() as uow:
        assert uow.ledger.trial_balance() == 0
        assert uow.ledger.balance("goodwill:store_credit") == DAILY_LIMIT
