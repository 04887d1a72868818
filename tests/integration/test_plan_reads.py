"""What a plan reads: the same few statements whatever the customer's history, its sums
counted by the database rather than by loading the customer's orders and cases; and the policy
in force, compiled once per version in each process and planned with from the next plan on
wherever it was put in force."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import yaml

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Actor, Role
from caredesk.domain.grants import PolicyVersion
from caredesk.domain.policy.loading import LoadedPolicy, digest_of
from caredesk.services.engine import grants, policy
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


def put_in_force_elsewhere(container: Container, **changes: Any) -> str:
    """A new version of the default policy put in force by another process: its row, as
    `caredesk policy load` run there leaves it, written without passing this process's
    compiled policies. Each version is new to the process (both backends run in one)."""
    data = yaml.safe_load(policy.packaged_policy_text())
    version = f"elsewhere-{uuid.uuid4().hex[:12]}"
    data.update(changes, version=version)
    text = yaml.safe_dump(data)
    with container.uow() as uow:
        uow.policies.add(
            PolicyVersion(
                version=version,
                name=data["name"],
                digest=digest_of(text),
                text=text,
                loaded_at=container.clock.now(),
                loaded_by=SYSTEM.ref,
                active=False,
            )
        )
        uow.policies.activate(version)
        uow.commit()
    return version


def back_in_force(container: Container, version: str) -> None:
    with container.uow() as uow:
        uow.policies.activate(version)
        uow.commit()


@pytest.fixture
def compiled(container: Container, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The versions this process compiles from now on, in order."""
    seen: list[str] = []
    formats = container.uow.formats
    parse = formats.parse_policy

    def counted(text: str) -> LoadedPolicy:
        loaded = parse(text)
        seen.append(loaded.version)
        return loaded

    monkeypatch.setattr(formats, "parse_policy", counted)
    return seen


def test_a_version_is_compiled_once_and_planned_with_from_the_next_plan_on(
    container: Container, compiled: list[str]
) -> None:
    lead = add_agent(container, "lee@desk.example", Role.LEAD)
    add_customer(container, "ines", {"A1": "50.00"})
    first = put_in_force_elsewhere(container, planner={"offers": 3, "max_bundle_size": 2})
    case_id = open_case(container, lead, "ines", order_ids=["A1"])
    now = container.clock.now()

    plans = [grants.plan_case(container.uow(), lead, now, case_id) for _ in range(3)]
    assert [p.policy_version for p in plans] == [first] * 3
    assert len(plans[0].ranking.offers) == 3
    assert compiled == [first]

    second = put_in_force_elsewhere(container, planner={"offers": 1, "max_bundle_size": 2})
    plan = grants.plan_case(container.uow(), lead, now, case_id)
    assert (plan.policy_version, len(plan.ranking.offers)) == (second, 1)
    grants.plan_case(container.uow(), lead, now, case_id)
    assert compiled == [first, second]


def test_a_process_keeps_the_versions_it_used_last(
    container: Container, compiled: list[str]
) -> None:
    versions = []
    for offers in range(1, policy.COMPILED.size + 2):
        versions.append(put_in_force_elsewhere(container, planner={"offers": offers}))
        assert policy.active_policy(container.uow()).version == versions[-1]
    assert compiled == versions

    # The newest is kept; the oldest fell out of the few and is compiled again.
    back_in_force(container, versions[-1])
    assert policy.active_policy(container.uow()).version == versions[-1]
    back_in_force(container, versions[0])
    assert policy.active_policy(container.uow()).version == versions[0]
    assert compiled == [*versions, versions[0]]
