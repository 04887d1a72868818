"""What a plan or grant is decided on: the case or customer the actor reaches, and its order."""

from __future__ import annotations

from datetime import datetime

from caredesk.domain.agents import Actor
from caredesk.domain.cases import Case
from caredesk.domain.customers import Customer
from caredesk.domain.errors import DomainError, ErrorCode, NotFound, must_exist
from caredesk.domain.orders import Order
from caredesk.domain.policy.model import Policy
from caredesk.services.engine.facts import Situation, case_facts, load_situation
from caredesk.services.engine.unit import EngineUnit

# Who asks: an agent at the console or the API, an AI agent through a tool, the customer.
AGENT, TOOL, PORTAL = "agent", "tool", "portal"


def basis_of(customer: Customer, order: Order | None) -> dict[str, int]:
    basis = {"customer_version": customer.version}
    if order is not None:
        basis["order_version"] = order.version
    return basis


def situation_basis(situation: Situation) -> dict[str, int]:
    return basis_of(situation.customer, situation.order)


def issue_of(situation: Situation) -> str | None:
    if situation.case is None:
        return None
    issue = case_facts(situation.case)["case.issue_type"]
    return str(issue) if issue else None


def program_variants(policy: Policy) -> list[str]:
    return [str(p.params["upgrade_to"]) for p in policy.programs if "upgrade_to" in p.params]


def load_case(uow: EngineUnit, actor: Actor, case_id: int) -> Case:
    """The case, if the actor reaches its customer; to anyone else it does not exist."""
    actor.require_verified()
    case = uow.cases.get(case_id)
    if case is None or not actor.reaches(case.customer_id):
        raise NotFound("case", case_id)
    return case


def load_customer(uow: EngineUnit, actor: Actor, customer_id: str) -> Customer:
    actor.require_reach(customer_id)
    return must_exist(uow.customers.get(customer_id), "customer", customer_id)


def check_order(uow: EngineUnit, actor: Actor, order_id: str | None, customer_id: str) -> None:
    """An order named for a grant: one the actor reaches, and the grant's customer's own,
    whatever the policy in force says about either."""
    if order_id is None:
        return
    actor.require_verified()
    order = must_exist(uow.orders.get(order_id), "order", order_id)
    actor.require_reach(order.customer_id)
    if order.customer_id != customer_id:
        raise DomainError(
            f"order {order_id} belongs to another customer",
            code=ErrorCode.NOT_CUSTOMERS,
            details={"order_id": order_id},
        )


def situation_for_case(
    uow: EngineUnit,
    policy: Policy,
    now: datetime,
    case: Case,
    order_id: str | None,
    agent_id: int | None,
) -> Situation:
    customer = must_exist(uow.customers.get(case.customer_id), "customer", case.customer_id)
    return load_situation(
        uow,
        policy,
        now,
        customer=customer,
        case=case,
        order_id=order_id,
        agent_id=agent_id,
        extra_variant_ids=program_variants(policy),
    )
