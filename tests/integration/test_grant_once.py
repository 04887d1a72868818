"""Each yes is granted once: a second click, a retried request and a stale page on the demo's
missed-delivery case are all answered with the first grant, and the planner stops offering
what was already granted for the same case and issue."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Actor, Role
from caredesk.domain.cases import MessageKind
from caredesk.domain.grants import GrantStatus
from caredesk.domain.orders import TransactionType
from caredesk.services.access import auth
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.engine import grants
from tests.integration.conftest import Headers
from tests.integration.demo_store import load_demo_store

TOP_OFFER = ["expedite", "refund-partial", "store-credit"]


def _load_demo(container: Container) -> None:
    load_demo_store(
        container,
        seed=7,
        customers=25,
        admin_email="admin@caredesk.example",
        admin_password="demo-password-1",
    )


def _story_case(container: Container, story: str) -> int:
    with container.uow() as uow:
        page = uow.cases.find(CaseFilter(tag=f"story:{story}"), 5, None)
    (case,) = page.items
    assert case.id is not None
    return case.id


def _agent(container: Container, email: str) -> Actor:
    found = next(a for a in auth.list_agents(container.uow(), SYSTEM) if a.email == email)
    return found.actor()


@pytest.fixture
def missed_date(container: Container) -> tuple[int, Actor]:
    _load_demo(container)
    return _story_case(container, "missed-date"), _agent(container, "priya@caredesk.example")


def _refunds(container: Container, case_id: int) -> list[Decimal]:
    with container.uow() as uow:
        case = uow.cases.get(case_id)
        assert case is not None
        order = uow.orders.get(case.order_ids[0])
    assert order is not None
    return [p.amount for p in order.payments if p.transaction_type is TransactionType.REFUND]


def _outbound(container: Container, case_id: int) -> list[str]:
    with container.uow() as uow:
        return [m.body for m in uow.cases.messages(case_id) if m.kind is MessageKind.OUTBOUND]


def test_a_second_click_on_the_same_offer_answers_with_the_first_grant(
    container: Container, missed_date: tuple[int, Actor]
) -> None:
    case_id, priya = missed_date
    now = container.clock.now()
    page = grants.plan_case(container.uow(), priya, now, case_id)
    assert sorted(page.ranking.offers[0].remedy_ids) == TOP_OFFER
    first = grants.grant_on_case(
        container.uow(), priya, now, case_id, TOP_OFFER, idempotency_key="page-1", basis=page.basis
    )
    assert first.grant.status is GrantStatus.EXECUTED

    # The same page clicked again, and the page the console shows after the first grant:
    # each render has its own key, so only the case, the bundle and the facts tie them.
    reloaded = grants.plan_case(container.uow(), priya, now, case_id)
    for key, basis in (("page-1-again", page.basis), ("page-2", reloaded.basis)):
        again = grants.grant_on_case(
            container.uow(), priya, now, case_id, TOP_OFFER, idempotency_key=key, basis=basis
        )
        assert again.replayed
        assert again.grant.id == first.grant.id
    # A client that sends neither a key nor a basis, twice in a row, is answered the same.
    retried = grants.grant_on_case(container.uow(), priya, now, case_id, TOP_OFFER[::-1])
    assert retried.grant.id == first.grant.id

    assert _refunds(container, case_id) == [Decimal("59.60")]
    told = [body for body in _outbound(container, case_id) if "refunded" in body]
    assert told == [first.customer_note]
    assert [g.id for g in grants.case_grants(container.uow(), priya, case_id)] == [first.grant.id]


def test_what_was_granted_is_not_offered_again_for_the_same_issue(
    container: Container, missed_date: tuple[int, Actor]
) -> None:
    case_id, priya = missed_date
    now = container.clock.now()
    grants.grant_on_case(container.uow(), priya, now, case_id, TOP_OFFER)

    after = grants.plan_case(container.uow(), priya, now, case_id)

    offered = {remedy for offer in after.ranking.offers for remedy in offer.remedy_ids}
    assert not offered & set(TOP_OFFER)
    for remedy in TOP_OFFER:
        assert [r.rule_id for r in after.ranking.ineligible[remedy]] == ["grants.once_per_issue"]


def test_every_door_answers_a_repeated_offer_with_the_first_grant(
    container: Container,
    missed_date: tuple[int, Actor],
    client: TestClient,
    token_for: Callable[..., Headers],
) -> None:
    case_id, priya = missed_date
    headers = token_for(Role.AGENT, priya.agent_id)
    plan = client.get(f"/api/v1/cases/{case_id}/plan", headers=headers).json()
    url = f"/api/v1/cases/{case_id}/grants"
    body = {"remedies": TOP_OFFER, "basis": plan["basis"]}
    first = client.post(url, json=body, headers={**headers, "Idempotency-Key": "rest-1"})
    assert first.status_code == 201, first.text

    after = client.get(f"/api/v1/cases/{case_id}/plan", headers=headers).json()
    again = client.post(
        url,
        json={"remedies": TOP_OFFER, "basis": after["basis"]},
        headers={**headers, "Idempotency-Key": "rest-2"},
    )
    # An AI agent speaks for one customer: its token is bound to the case's customer.
    customer_id = grants.case_grants(container.uow(), SYSTEM, case_id)[0].customer_id
    bound = auth.create_token(
        container.uow(),
        SYSTEM,
        container.clock.now(),
        name="assistant",
        role=Role.AGENT,
        agent_id=priya.agent_id,
        customer_id=customer_id,
    )
    tool = client.post(
        "/api/v1/tools/grant_offer",
        json={"arguments": {"case_id": case_id, "remedies": TOP_OFFER}, "confirmed": True},
        headers={"Authorization": f"Bearer {bound.secret}", "Idempotency-Key": "tool-1"},
    )

    assert again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert tool.status_code == 200, tool.text
    assert tool.json()["result"]["grant_id"] == first.json()["id"]
    assert _refunds(container, case_id) == [Decimal("59.60")]
