"""What a plan reads: the same few statements whatever the customer's history, its sums
counted by the database rather than by loading the customer's orders and cases."""

from __future__ import annotations

from caredesk.bootstrap import Container
from caredesk.domain.agents import Actor, Role
from caredesk.services.engine import grants
from tests.integration.money_store import add_agent, add_customer, load_policy, open_case
from tests.integration.statements import statements_sent

# The policy in force (its digest), the case with its tags, the customer with their emails
# and payment methods, the order with its lines, shipments and payments, the order's
# catalogue, every sum in one, and the case's grants. A change that adds one raises this on
# purpose.
PLAN_STATEMENTS = 7
TEAM = "Billing"


def plan_statements(container: Container, actor: Actor, case_id: int) -> list[str]:
    """The statements of one plan, but for the transaction's BEGIN (SQLite's alone)."""
    now = container.clock.now()
    grants.plan_case(container.uow.read_only(), actor, now, case_id)
    with statements_sent(container.engine) as seen:
        grants.plan_case(container.uow.read_only(), actor, now, case_id)
    return [s for s in seen if s.strip().upper() != "BEGIN"]


def test_a_plan_reads_the_same_few_statements_whatever_the_customers_history(
    container: Container,
) -> None:
    # Budgets of the desk and of the case's team, a case on two orders, and a grant already
    # on it: every sum a plan counts has something to count.
    load_policy(
        container,
        "plan-reads",
        budgets=[
            {"team": "*", "period": "month", "amount": 50000},
            {"team": TEAM, "period": "week", "amount": 5000},
        ],
    )
    agent = add_agent(container, "ann@desk.example", Role.LEAD, team=TEAM)
    add_customer(container, "newcomer", {"N1": "30.00"})
    add_customer(container, "regular", {f"R{i:02d}": "30.00" for i in range(60)})
    newcomer_case = open_case(container, agent, "newcomer", order_ids=["N1"], team=TEAM)
    for i in range(2, 17):
        open_case(container, agent, "regular", order_ids=[f"R{i:02d}"])
    regular_case = open_case(container, agent, "regular", order_ids=["R00", "R01"], team=TEAM)
    now = container.clock.now()
    offer = grants.plan_case(container.uow(), agent, now, regular_case).ranking.offers[0]
    granted = grants.grant_on_case(
        container.uow(), agent, now, regular_case, offer.remedy_ids, idempotency_key="first"
    )
    assert granted.grant.id is not None

    small = plan_statements(container, agent, newcomer_case)
    large = plan_statements(container, agent, regular_case)

    assert len(large) == PLAN_STATEMENTS, "\n\n".join(large)
    assert len(small) == PLAN_STATEMENTS, "\n\n".join(small)
