"""The case page reads at a glance: the customer card, amounts in the store's currency, the
policy's rules as sentences, and a grant told to the customer in the agent's next reply."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM
from caredesk.domain.cases import GRANT_NOTICE_SINCE, MessageKind
from caredesk.domain.jobs import JobState
from caredesk.services.core import jobs
from caredesk.services.engine import grants
from tests.integration.test_console_pages import (
    AGENT,
    field_value,
    load_console_store,
    sign_in,
    story,
)


@pytest.fixture
def store(container: Container) -> Container:
    return load_console_store(container)


def _outbound(store: Container, case_id: int) -> list[str]:
    with store.uow.read_only() as uow:
        return [m.body for m in uow.cases.messages(case_id) if m.kind is MessageKind.OUTBOUND]


def _grant_form(page: str, **extra: str) -> dict[str, str]:
    form = {
        name: field_value(page, name)
        for name in ("csrf_token", "remedies", "basis", "idempotency_key")
    }
    return form | extra


def test_the_customer_card_amounts_and_reasons_read_as_sentences(
    app_client: TestClient, store: Container
) -> None:
    case_id = story(store, "Two t-shirts")
    with store.uow() as uow:
        case = uow.cases.get(case_id)
        assert case is not None
        customer = uow.customers.get(case.customer_id)
        assert customer is not None
        customer.membership = "member"
        uow.customers.save(customer)
        uow.commit()
    sign_in(app_client, AGENT)
    page = app_client.get(f"/cases/{case_id}").text

    assert "member member" not in page
    assert "<dt>Membership</dt><dd>member</dd>" in page
    assert re.search(r"<dt>Lifetime value</dt><dd>\$[\d,]+\.\d\d</dd>", page)
    assert re.search(r"<dt>Open cases</dt><dd>only this one</dd>", page)
    assert re.search(r"<dt>Cost</dt><dd>\$[\d,]+\.\d\d</dd>", page)
    assert re.search(r"worth \$[\d,]+\.\d\d to the store; costs \$", page)
    # The rule's sentence is on the page; its id only in a hover title.
    # With the figures this case gave it: what a return would cost and what it would recover.
    assert re.search(
        r"Keep the item when taking it back costs at least what it would recover: return cost "
        r"\$[\d,]+\.\d\d is at least recoverable value \$[\d,]+\.\d\d",
        page,
    )
    assert page.count("keep.cheaper_than_return") == page.count(
        'title="rule keep.cheaper_than_return"'
    )
    assert page.count("keep.cheaper_than_return") > 0
    # The customer comes before the offers, and both before the case's properties.
    assert page.index('class="customer"') < page.index('class="offers"')
    assert page.index('class="offers"') < page.index('class="properties"')


def test_a_console_grant_is_told_in_the_agents_next_reply(
    app_client: TestClient, store: Container
) -> None:
    case_id = story(store, "Two t-shirts")
    sign_in(app_client, AGENT)
    before = _outbound(store, case_id)
    page = app_client.get(f"/cases/{case_id}").text
    granted = app_client.post(f"/cases/{case_id}/grant", data=_grant_form(page))
    assert granted.status_code == 303
    assert granted.headers["location"].endswith("notice=granted_next_reply")
    # Nothing went to the customer yet: the note waits for the reply, shown above the box.
    assert _outbound(store, case_id) == before
    page = app_client.get(granted.headers["location"]).text
    assert "data-grant-notice" in page
    with store.uow.read_only() as uow:
        case = uow.cases.get(case_id)
    assert case is not None and case.pending_grant_notice
    note = case.pending_grant_notice

    replied = app_client.post(
        f"/cases/{case_id}/reply",
        data={
            "csrf_token": field_value(page, "csrf_token"),
            "version": field_value(page, "version"),
            "body": "Sorry about the shirts, Dana.",
            "kind": "reply",
        },
    )
    assert replied.status_code == 303
    after = _outbound(store, case_id)
    assert len(after) == len(before) + 1
    assert after[-1] == f"Sorry about the shirts, Dana.\n\n{note}"
    with store.uow.read_only() as uow:
        case = uow.cases.get(case_id)
    assert case is not None and case.pending_grant_notice is None
    assert "data-grant-notice" not in app_client.get(f"/cases/{case_id}").text

    # The job that would have sent it alone finds nothing left to send.
    queued = [
        j
        for j in jobs.list_jobs(store.uow(), SYSTEM, state=JobState.QUEUED, limit=200)
        if j.kind == grants.GRANT_NOTICE_JOB
    ]
    assert len(queued) == 1
    assert queued[0].run_at == store.clock.now() + timedelta(
        minutes=store.settings.grant_notice_minutes
    )
    store.jobs.handlers[grants.GRANT_NOTICE_JOB](store.job_context(), queued[0].payload)
    assert _outbound(store, case_id) == after


def test_without_a_reply_the_grant_notice_goes_out_alone_once(
    app_client: TestClient, store: Container
) -> None:
    case_id = story(store, "Will the baby monitor")
    sign_in(app_client, AGENT)
    before = _outbound(store, case_id)
    page = app_client.get(f"/cases/{case_id}").text
    assert app_client.post(f"/cases/{case_id}/grant", data=_grant_form(page)).status_code == 303
    with store.uow.read_only() as uow:
        case = uow.cases.get(case_id)
    assert case is not None and case.pending_grant_notice
    note, since = case.pending_grant_notice, case.custom_fields[GRANT_NOTICE_SINCE]
    assert isinstance(since, str)

    handler = store.jobs.handlers[grants.GRANT_NOTICE_JOB]
    payload = {"case_id": case_id, "since": since, "agent_id": None}
    handler(store.job_context(), payload)
    handler(store.job_context(), payload)
    assert _outbound(store, case_id) == [*before, note]


def test_tell_now_and_the_api_tell_the_customer_at_once(
    app_client: TestClient, store: Container
) -> None:
    case_id = story(store, "LabelWriter")
    sign_in(app_client, AGENT)
    before = _outbound(store, case_id)
    page = app_client.get(f"/cases/{case_id}").text
    granted = app_client.post(f"/cases/{case_id}/grant", data=_grant_form(page, tell_now="1"))
    assert granted.headers["location"].endswith("notice=granted")
    assert len(_outbound(store, case_id)) == len(before) + 1

    other = story(store, "Our agreed delivery date")
    before = _outbound(store, other)
    plan = grants.plan_case(store.uow(), SYSTEM, store.clock.now(), other)
    outcome = grants.grant_on_case(
        store.uow(), SYSTEM, store.clock.now(), other, plan.ranking.offers[0].remedy_ids
    )
    assert outcome.customer_note
    assert _outbound(store, other)[-1] == outcome.customer_note
    assert len(_outbound(store, other)) == len(before) + 1
