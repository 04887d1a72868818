"""The customer portal through its routes: magic-link sign-in, own data only, replies,
new cases, self-service remedies through the policy engine, knowledge base and satisfaction
surveys."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from caredesk.adapters.db import models as m
from caredesk.bootstrap import Container, survey_options
from caredesk.cli.main import app
from caredesk.domain.agents import SYSTEM
from caredesk.domain.cases import CaseStatus, Channel, MessageKind
from caredesk.domain.customers import Customer
from caredesk.domain.errors import DomainError
from caredesk.domain.knowledge import ArticleStatus, Visibility
from caredesk.domain.mail import MailDirection
from caredesk.domain.orders import (
    Order,
    OrderStatus,
)
from caredesk.domain.webhooks import Subscription
from caredesk.services.access.secrets import hash_secret
from caredesk.services.cases import cases
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.channels import portal
from caredesk.services.channels.portal import MemoryOutbox
from caredesk.services.channels.portal_mail import QueuedCustomerMailer, send_surveys
from caredesk.services.engine import grants, policy
from caredesk.services.knowledge import knowledge
from caredesk.web.app import create_app
from tests import factories
from tests.conftest import ManualClock
from tests.integration.conftest import Headers
from tests.integration.statements import statements_sent, writes

D = Decimal
LINK = re.compile(r"http://testserver(/portal/sign-in/[A-Za-z0-9_\-]+)")
SURVEY = re.compile(r"http://testserver(/portal/survey/[A-Za-z0-9_\-]+)\?score=(\d)")
LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
REQUEST_KEY = re.compile(r'name="request_key" value="([^"]+)"')


def _customer(cid: str, email: str, now: datetime, membership: str | None = None) -> Customer:
    return factories.customer(cid, now, last_name="Tester", email=email, membership=membership)


LAMP = factories.line("lamp-w", "lamp", "Desk lamp", "40.00", colour="white")


def _order(
    oid: str, cid: str, status: OrderStatus, delivered_days_ago: int | None, now: datetime
) -> Order:
    delivered = None if delivered_days_ago is None else timedelta(days=delivered_days_ago)
    return factories.order(oid, cid, now, LAMP, status=status, delivered=delivered)


@pytest.fixture
def store(container: Container) -> None:
    """Maya has a recent delivery, an old one and a pending order; Omar is someone else."""
    now = container.clock.now()
    factories.store(
        container,
        _customer("maya", "maya@example.com", now),
        _customer("omar", "omar@example.com", now),
        factories.product(
            "lamp",
            "Desk lamp",
            factories.variant("lamp-w", "lamp", "40.00", "12.00", colour="white"),
        ),
        factories.product(
            "mug", "Mug", factories.variant("mug-blue", "mug", "12.00", "3", colour="blue")
        ),
        _order("M-RECENT", "maya", OrderStatus.DELIVERED, 3, now),
        _order("M-OLD", "maya", OrderStatus.DELIVERED, 200, now),
        _order("M-PENDING", "maya", OrderStatus.PENDING, None, now),
        _order("O-RECENT", "omar", OrderStatus.DELIVERED, 3, now),
        factories.order(
            "M-CHEAP",
            "maya",
            now,
            factories.line("mug-blue", "mug", "Mug", "12.00", colour="blue"),
            delivered=timedelta(days=3),
        ),
    )


@pytest.fixture
def outbox() -> MemoryOutbox:
    return MemoryOutbox()


@pytest.fixture
def portal_client(container: Container, outbox: MemoryOutbox, store: None) -> Iterator[TestClient]:
    app = create_app(container=container)
    app.state.portal_mailer = outbox
    with TestClient(app) as test_client:
        yield test_client


def _ask_link(client: TestClient, outbox: MemoryOutbox, email: str) -> str:
    response = client.post("/portal/sign-in", data={"email": email})
    assert response.status_code == 200
    mail = outbox.last_to(email)
    assert mail is not None, "no sign-in link was sent"
    assert mail.template == "magic_link"
    found = LINK.fullmatch(mail.link)
    assert found is not None
    return found.group(1)


def _follow(client: TestClient, path: str) -> Any:
    page = client.get(path)
    assert page.status_code == 200, page.text
    token = LOGIN_CSRF.search(page.text)
    assert token is not None
    return client.post(path, data={"login_csrf": token.group(1)}, follow_redirects=False)


def sign_in(client: TestClient, outbox: MemoryOutbox, email: str) -> str:
    """Sign in by magic link; returns the CSRF token of the portal's forms."""
    response = _follow(client, _ask_link(client, outbox, email))
    assert response.status_code == 303, response.text
    home = client.get("/portal")
    assert home.status_code == 200
    csrf = CSRF.search(home.text)
    assert csrf is not None
    return csrf.group(1)


def _case(container: Container, customer_id: str, subject: str, body: str) -> int:
    view = cases.create_case(
        container.uow(), SYSTEM, container.clock.now(), customer_id=customer_id,
        subject=subject, body=body, channel=Channel.EMAIL,
    )  # fmt: skip
    assert view.case.id is not None
    return view.case.id


# --- signing in -------------------------------------------------------------------------------


def test_magic_link_signs_in_once_and_sets_a_guarded_cookie(
    portal_client: TestClient, outbox: MemoryOutbox, container: Container
) -> None:
    assert portal_client.get("/portal", follow_redirects=False).headers["location"] == (
        "/portal/sign-in"
    )
    path = _ask_link(portal_client, outbox, "Maya@Example.com")
    response = _follow(portal_client, path)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "caredesk_portal=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/portal" in cookie
    assert "Maya" in portal_client.get("/portal").text

    # The link works once; the secret itself is stored nowhere, only its hash.
    portal_client.cookies.clear()
    again = _follow(portal_client, path)
    assert again.status_code == 401
    assert 'data-code="token_revoked"' in again.text
    secret = path.rsplit("/", 1)[1]
    with container.engine.connect() as conn:
        hashes = conn.execute(select(m.PortalSignInRow.token_hash)).scalars().all()
    assert secret not in hashes and hash_secret(secret) in hashes


def test_an_expired_link_does_not_sign_in(
    portal_client: TestClient, outbox: MemoryOutbox, clock: ManualClock
) -> None:
    path = _ask_link(portal_client, outbox, "maya@example.com")
    clock.advance(minutes=16)
    response = _follow(portal_client, path)
    assert response.status_code == 401
    assert 'data-code="token_expired"' in response.text
    assert portal_client.get("/portal", follow_redirects=False).status_code == 303


def test_a_forged_link_and_a_cross_site_post_are_refused(
    portal_client: TestClient, outbox: MemoryOutbox
) -> None:
    assert _follow(portal_client, "/portal/sign-in/not-a-real-token").status_code == 401
    path = _ask_link(portal_client, outbox, "maya@example.com")
    # Without the cookie set by our own page, the POST could come from another site.
    portal_client.cookies.clear()
    forged = portal_client.post(path, data={"login_csrf": "guess"}, follow_redirects=False)
    assert forged.status_code == 403
    assert _follow(portal_client, path).status_code == 303


def test_the_answer_is_the_same_for_unknown_addresses_and_requests_are_limited(
    portal_client: TestClient, outbox: MemoryOutbox
) -> None:
    known = portal_client.post("/portal/sign-in", data={"email": "maya@example.com"})
    unknown = portal_client.post("/portal/sign-in", data={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("maya@example.com", "X") == unknown.text.replace(
        "nobody@example.com", "X"
    )
    assert [mail.to for mail in outbox.sent] == ["maya@example.com"]
    for _ in range(10):
        portal_client.post("/portal/sign-in", data={"email": "maya@example.com"})
    # Five links an hour per address (the setting's default); the rest are not sent.
    assert len([mail for mail in outbox.sent if mail.to == "maya@example.com"]) == 5


def test_signing_out_ends_the_session(portal_client: TestClient, outbox: MemoryOutbox) -> None:
    csrf = sign_in(portal_client, outbox, "maya@example.com")
    secret = portal_client.cookies.get("caredesk_portal")
    assert secret is not None
    portal_client.post("/portal/sign-out", data={"csrf_token": csrf})
    portal_client.cookies.set("caredesk_portal", secret, path="/portal")
    assert portal_client.get("/portal", follow_redirects=False).status_code == 303


# --- the customer's own cases -----------------------------------------------------------------


def test_the_case_page_shows_replies_but_never_internal_notes(
    portal_client: TestClient, outbox: MemoryOutbox, container: Container
) -> None:
    case_id = _case(container, "maya", "Lamp flickers", "My lamp flickers.")
    now = container.clock.now()
    cases.add_message(container.uow(), SYSTEM, now, case_id, kind=MessageKind.OUTBOUND,
                      body="Sorry! Try the other socket.")  # fmt: skip
    cases.add_message(container.uow(), SYSTEM, now, case_id, kind=MessageKind.NOTE,
                      body="INTERNAL: probably a serial customer")  # fmt: skip
    sign_in(portal_client, outbox, "maya@example.com")
    assert "Lamp flickers" in portal_client.get("/portal").text
    page = portal_client.get(f"/portal/cases/{case_id}")
    assert page.status_code == 200
    assert "My lamp flickers." in page.text and "Try the other socket." in page.text
    assert "INTERNAL" not in page.text


def test_another_customers_case_order_and_attachment_are_not_found(
    portal_client: TestClient, outbox: MemoryOutbox, container: Container
) -> None:
    theirs = _case(container, "omar", "Omar's problem", "private words")
    attached = cases.add_message(
        container.uow(), SYSTEM, container.clock.now(), theirs, kind=MessageKind.INBOUND,
        body="photo", attachments=[cases.NewAttachment("p.jpg", "image/jpeg", b"omar-photo")],
    )  # fmt: skip
    csrf = sign_in(portal_client, outbox, "maya@example.com")
    sha = attached.attachments[0].sha256
    for path in (
        f"/portal/cases/{theirs}",
        f"/portal/cases/{theirs}/attachments/{sha}",
        "/portal/orders/O-RECENT/return",
    ):
        response = portal_client.get(path)
        assert response.status_code == 404, path
        assert "private words" not in response.text and "omar-photo" not in response.text
    reply = portal_client.post(
        f"/portal/cases/{theirs}/reply", data={"csrf_token": csrf, "body": "let me in"}
    )
    assert reply.status_code == 404
    grab = portal_client.post(
        "/portal/orders/O-RECENT/return",
        data={"csrf_token": csrf, "confirm": "yes", "item_ids": ["lamp-w"]},
    )
    assert grab.status_code == 404
    with container.uow() as uow:
        assert [m.body for m in uow.cases.messages(theirs)] == ["private words", "photo"]
        order = uow.orders.get("O-RECENT")
        assert order is not None and order.status is OrderStatus.DELIVERED
    assert "Omar" not in portal_client.get("/portal/orders").text


def test_reply_with_an_attachment_reopens_a_solved_case(
    portal_client: TestClient, outbox: MemoryOutbox, container: Container
) -> None:
    case_id = _case(container, "maya", "Lamp flickers", "It flickers.")
    cases.change_status(container.uow(), SYSTEM, container.clock.now(), case_id, CaseStatus.SOLVED)
    csrf = sign_in(portal_client, outbox, "maya@example.com")
    response = portal_client.post(
        f"/portal/cases/{case_id}/reply",
        data={"csrf_token": csrf, "body": "It is back, see the video."},
        files={"files": ("flicker.mp4", b"\x00\x01video", "video/mp4")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/portal/cases/{case_id}?notice=sent#latest"
    with container.uow() as uow:
        case = uow.cases.get(case_id)
        assert case is not None and case.status is CaseStatus.OPEN
        last = uow.cases.messages(case_id)[-1]
        assert last.kind is MessageKind.INBOUND and last.author_customer_id == "maya"
        assert [a.filename for a in last.attachments] == ["flicker.mp4"]
        actors = {e.actor for e in uow.audit.for_case(case_id) if e.action == "message.inbound"}
        assert actors == {"customer:maya"}
    page = portal_client.get(f"/portal/cases/{case_id}")
    download = portal_client.get(
        f"/portal/cases/{case_id}/attachments/{last.attachments[0].sha256}"
    )
    assert "flicker.mp4" in page.text and download.content == b"\x00\x01video"


def test_a_form_without_the_csrf_token_is_refused(
    portal_client: TestClient, outbox: MemoryOutbox, container: Container
) -> None:
    case_id = _case(container, "maya", "Lamp flickers", "It flickers.")
    sign_in(portal_client, outbox, "maya@example.com")
    response = portal_client.post(f"/portal/cases/{case_id}/reply", data={"body": "hi"})
    assert response.status_code == 403
    assert 'data-code="csrf_failed"' in response.text
    with container.uow() as uow:
        assert len(uow.cases.messages(case_id)) == 1


def test_open_a_new_case_about_an_own_order_only(
    portal_client: TestClient, outbox: MemoryOutbox, container: Container
) -> None:
    csrf = sign_in(portal_client, outbox, "maya@example.com")
    response = portal_client.post(
        "/portal/cases",
        data={"csrf_token": csrf, "subject": "Wrong colour", "body": "I got black, not white.",
              "order_id": "M-RECENT"},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303, response.text
    case_id = int(response.headers["location"].split("/")[3].split("?")[0])
    with container.uow() as uow:
        case = uow.cases.get(case_id)
        assert case is not None
        assert (case.customer_id, case.channel, case.order_ids) == (
            "maya",
            Channel.PORTAL,
            ["M-RECENT"],
        )
    refused = portal_client.post(
        "/portal/cases",
        data={"csrf_token": csrf, "subject": "Peek", "body": "x", "order_id": "O-RECENT"},
    )
    assert refused.status_code == 422
    with container.uow() as uow:
        assert len(uow.cases.find(CaseFilter(customer_id="maya"), 10, None).items) == 1


# --- self-service -----------------------------------------------------------------------------


def _confirm_form(client: TestClient, path: str) -> dict[str, str]:
    page = client.get(path)
    assert page.status_code == 200, page.text
    csrf, key = CSRF.search(page.text), REQUEST_KEY.search(page.text)
    assert csrf is not None and key is not None
    return {"csrf_token": csrf.group(1), "request_key": key.group(1)}


def test_self_service_return_within_the_window_goes_through_the_grant_path(
    portal_client: TestClient, outbox: MemoryOutbox, container: Container
) -> None:
    sign_in(portal_client, outbox, "maya@example.com")
    orders = portal_client.get("/portal/orders").text
    assert "/portal/orders/M-RECENT/return" in orders
    assert "/portal/orders/M-OLD/return" not in orders
    assert "/portal/orders/M-PENDING/cancel" in orders
    form = _confirm_form(portal_client, "/portal/orders/M-RECENT/return")
    unconfirmed = portal_client.post(
        "/portal/orders/M-RECENT/return", data={**form, "item_ids": ["lamp-w"]}
    )
    assert unconfirmed.status_code == 422
    assert 'data-code="confirmation_required"' in unconfirmed.text
    data = {**form, "item_ids": ["lamp-w"], "confirm": "yes"}
    done = portal_client.post("/portal/orders/M-RECENT/return", data=data)
    assert done.status_code == 200, done.text
    assert "how to return the items" in done.text
    # A double submission replays the same grant instead of granting twice, and the
    # customer is told once, by mail, what the page said.
    assert portal_client.post("/portal/orders/M-RECENT/return", data=data).status_code == 200
    told = [mail for mail in outbox.sent if mail.template == "notification"]
    assert [(mail.to, mail.subject) for mail in told] == [
        ("maya@example.com", "Your order M-RECENT")
    ]
    assert "how to return the items" in told[0].text
    assert told[0].link == "http://testserver/portal/orders"
    with container.uow() as uow:
        order = uow.orders.get("M-RECENT")
        assert order is not None and order.status is OrderStatus.RETURN_REQUESTED
        granted = uow.grants.for_customer("maya")
        assert len(granted) == 1
        grant = granted[0]
        assert grant.remedy_ids == ["return"] and grant.actor == "customer:maya"
        assert grant.id is not None
        assert uow.ledger.for_grant(grant.id), "the label is on the ledger"
        assert uow.ledger.trial_balance() == 0
        audit = uow.audit.for_entity("grant", str(grant.id))
        assert [e.actor for e in audit] == ["customer:maya"]


def test_self_service_return_outside_the_window_is_refused_by_the_policy(
    portal_client: TestClient, outbox: MemoryOutbox, container: Container
) -> None:
    sign_in(portal_client, outbox, "maya@example.com")
    page = portal_client.get("/portal/orders/M-OLD/return")
    assert "outside the return window" in page.text
    csrf = CSRF.search(page.text)
    assert csrf is not None
    refused = portal_client.post(
        "/portal/orders/M-OLD/return",
        data={"csrf_token": csrf.group(1), "confirm": "yes", "item_ids": ["lamp-w"]},
    )
    assert refused.status_code == 422
    assert 'data-code="not_eligible"' in refused.text
    with container.uow() as uow:
        order = uow.orders.get("M-OLD")
        assert order is not None and order.status is OrderStatus.DELIVERED
        assert uow.grants.for_customer("maya") == []


def test_self_service_cancel_of_a_pending_order_refunds_it(
    portal_client: TestClient, outbox: MemoryOutbox, container: Container
) -> None:
    sign_in(portal_client, outbox, "maya@example.com")
    form = _confirm_form(portal_client, "/portal/orders/M-PENDING/cancel")
    done = portal_client.post(
        "/portal/orders/M-PENDING/cancel",
        data={**form, "reason": "ordered by mistake", "confirm": "yes"},
    )
    assert done.status_code == 200, done.text
    with container.uow() as uow:
        order = uow.orders.get("M-PENDING")
        assert order is not None and order.status is OrderStatus.CANCELLED
        assert order.details["cancel_reason"] == "ordered by mistake"


def test_keep_the_item_where_a_return_costs_more_than_it_recovers(
    portal_client: TestClient, outbox: MemoryOutbox, container: Container
) -> None:
    sign_in(portal_client, outbox, "maya@example.com")
    orders = portal_client.get("/portal/orders").text
    # A 12.00 mug costs more to take back than it recovers; a 40.00 lamp does not.
    assert "/portal/orders/M-CHEAP/keep-item" in orders
    assert "/portal/orders/M-RECENT/keep-item" not in orders
    form = _confirm_form(portal_client, "/portal/orders/M-CHEAP/keep-item")
    done = portal_client.post(
        "/portal/orders/M-CHEAP/keep-item",
        data={**form, "item_ids": ["mug-blue"], "reason": "damaged", "confirm": "yes"},
    )
    assert done.status_code == 200, done.text
    assert "Please keep the items" in done.text and "refunded 12.00" in done.text
    with container.uow() as uow:
        order = uow.orders.get("M-CHEAP")
        assert order is not None and order.details["keep_items"] == ["mug-blue"]
        assert order.amount_paid == 0
        (grant,) = uow.grants.for_customer("maya")
        assert grant.remedy_ids == ["keep-item", "refund-kept-items"]
        assert grant.refunded == D("12.00") and grant.service_level == 3
        assert grant.params["keep-item"]["reason"] == "damaged"
    refused = portal_client.post(
        "/portal/orders/M-RECENT/keep-item",
        data={
            "csrf_token": form["csrf_token"],
            "item_ids": ["lamp-w"],
            "reason": "damaged",
            "confirm": "yes",
        },
    )
    assert refused.status_code == 422 and 'data-code="not_eligible"' in refused.text


def test_keep_the_item_needs_a_problem_the_customer_reports(
    portal_client: TestClient, outbox: MemoryOutbox, container: Container
) -> None:
    sign_in(portal_client, outbox, "maya@example.com")
    page = portal_client.get("/portal/orders/M-CHEAP/keep-item").text
    choices = re.findall(r'<input type="radio" name="reason" value="([a-z_]+)" required', page)
    assert choices == ["damaged", "defective", "wrong_item"]
    form = _confirm_form(portal_client, "/portal/orders/M-CHEAP/keep-item")
    for reason in ("", "changed my mind", "x" * 100):
        data = {**form, "item_ids": ["mug-blue"], "confirm": "yes", "reason": reason}
        answer = portal_client.post("/portal/orders/M-CHEAP/keep-item", data=data)
        # The same form again, with what was wrong said above it and the items still chosen.
        assert answer.status_code == 422, answer.text
        assert 'role="alert" data-code="validation_error"' in answer.text
        assert "Tell us what is wrong with the items" in answer.text
        assert 'name="request_key" value="' + form["request_key"] in answer.text
        assert 'value="mug-blue" checked' in answer.text
    # Every box unticked sends no items: the form asks again rather than keeping them all.
    nothing = portal_client.post(
        "/portal/orders/M-CHEAP/keep-item", data={**form, "reason": "damaged", "confirm": "yes"}
    )
    assert nothing.status_code == 422 and "Choose at least one item" in nothing.text
    assert 'value="damaged" required checked' in nothing.text
    assert 'value="mug-blue" checked' not in nothing.text
    with container.uow() as uow:
        order = uow.orders.get("M-CHEAP")
        assert order is not None and "keep_items" not in order.details
        assert order.amount_paid == D("12.00")
        assert uow.grants.for_customer("maya") == []


def test_keep_the_item_follows_the_policys_rule_not_the_portals_form(
    container: Container, store: None
) -> None:
    """Asked straight through the service, without a reported problem, the policy refuses."""
    now = container.clock.now()
    policy.load_policy(container.uow(), SYSTEM, now, policy.packaged_policy_text())
    with pytest.raises(DomainError) as refused:
        grants.grant_for_customer(
            container.uow(), portal.portal_actor("maya"), now, "maya", "keep-item",
            params={"item_ids": ["mug-blue"]}, order_id="M-CHEAP", confirmed=True,
            actor_kind=grants.PORTAL, together_with=("refund-kept-items",),
        )  # fmt: skip
    assert refused.value.details.get("rule") == "keep.problem_reported", refused.value.message
    with container.uow() as uow:
        assert uow.grants.for_customer("maya") == []


def test_a_refunded_order_offers_no_more_self_service(
    portal_client: TestClient, outbox: MemoryOutbox, container: Container
) -> None:
    # The lamp of M-RECENT came broken: an agent refunds it in full on the case.
    case_id = _case(container, "maya", "Broken lamp", "The lamp arrived damaged and broken.")
    cases.update_case(
        container.uow(), SYSTEM, container.clock.now(), case_id, expected_version=_version(
            container, case_id), changes={"order_ids": ["M-RECENT"], "tags": ["issue:damaged"]},
    )  # fmt: skip
    grants.grant_on_case(container.uow(), SYSTEM, container.clock.now(), case_id, ["refund-full"])
    sign_in(portal_client, outbox, "maya@example.com")
    orders = portal_client.get("/portal/orders").text
    assert "/portal/orders/M-RECENT/" not in orders
    assert "/portal/orders/M-CHEAP/return" in orders
    # The customer keeps the mug: that order is settled too.
    form = _confirm_form(portal_client, "/portal/orders/M-CHEAP/keep-item")
    kept = portal_client.post(
        "/portal/orders/M-CHEAP/keep-item",
        data={**form, "item_ids": ["mug-blue"], "reason": "wrong_item", "confirm": "yes"},
    )
    assert kept.status_code == 200, kept.text
    orders = portal_client.get("/portal/orders").text
    assert "/portal/orders/M-CHEAP/" not in orders
    assert "/portal/orders/M-PENDING/cancel" in orders
    page = portal_client.get("/portal/orders/M-CHEAP/return").text
    assert "already refunded" in page
    again = portal_client.post(
        "/portal/orders/M-CHEAP/return",
        data={**_confirm_form(portal_client, "/portal/orders/M-PENDING/cancel"),
              "item_ids": ["mug-blue"], "confirm": "yes"},
    )  # fmt: skip
    assert again.status_code == 409 and 'data-code="order_status"' in again.text
    with container.uow() as uow:
        order = uow.orders.get("M-CHEAP")
        assert order is not None and order.status is OrderStatus.DELIVERED
        assert len(uow.grants.for_customer("maya")) == 2


def _version(container: Container, case_id: int) -> int:
    with container.uow() as uow:
        case = uow.cases.get(case_id)
        assert case is not None
        return case.version


def test_what_a_customer_may_do_alone_is_policy_data(
    portal_client: TestClient, outbox: MemoryOutbox, container: Container
) -> None:
    text = policy.packaged_policy_text()
    returns = "    label: Return with a prepaid label\n    self_service: true\n"
    assert text.count(returns) == 1
    stricter = text.replace('version: "default-2026.12"', 'version: "no-self-returns"').replace(
        returns, returns.replace("true", "false")
    )
    policy.load_policy(container.uow(), SYSTEM, container.clock.now(), stricter)
    csrf = sign_in(portal_client, outbox, "maya@example.com")
    assert "/portal/orders/M-RECENT/return" not in portal_client.get("/portal/orders").text
    refused = portal_client.post(
        "/portal/orders/M-RECENT/return",
        data={"csrf_token": csrf, "confirm": "yes", "item_ids": ["lamp-w"]},
    )
    assert refused.status_code == 422
    assert 'data-code="not_eligible"' in refused.text
    with container.uow() as uow:
        assert uow.grants.for_customer("maya") == []


# --- knowledge base ---------------------------------------------------------------------------


def test_help_shows_and_finds_only_published_public_articles(
    portal_client: TestClient, container: Container
) -> None:
    now = container.clock.now()
    for title, visibility, status in (
        ("Returning a lamp", Visibility.PUBLIC, ArticleStatus.PUBLISHED),
        ("Lamp returns abuse playbook", Visibility.INTERNAL, ArticleStatus.PUBLISHED),
        ("Lamp returns draft", Visibility.PUBLIC, ArticleStatus.DRAFT),
    ):
        knowledge.create_article(
            container.uow(), SYSTEM, now, title=title, body=f"{title}: how lamp returns work.",
            visibility=visibility, status=status,
        )  # fmt: skip
    listing = portal_client.get("/portal/help").text
    found = portal_client.get("/portal/help", params={"q": "lamp returns"}).text
    for page in (listing, found):
        assert "Returning a lamp" in page
        assert "playbook" not in page and "draft" not in page
    assert portal_client.get("/portal/help/returning-a-lamp").status_code == 200
    assert portal_client.get("/portal/help/lamp-returns-abuse-playbook").status_code == 404
    assert portal_client.get("/portal/help/lamp-returns-draft").status_code == 404


# --- satisfaction surveys ---------------------------------------------------------------------


def _survey_links(container: Container, outbox: MemoryOutbox) -> dict[int, str]:
    sent = portal.send_due_surveys(
        container.uow,
        outbox,
        container.clock.now(),
        link_for=lambda secret, score: (
            f"http://testserver/portal/survey/{secret}" + (f"?score={score}" if score else "")
        ),
        valid_for=timedelta(days=14),
    )
    assert sent == 1
    mail = outbox.sent[-1]
    assert mail.to == "maya@example.com" and mail.template == "satisfaction_survey"
    assert mail.case_id is not None and mail.link.startswith("http://testserver/portal/survey/")
    return {int(score): path for path, score in SURVEY.findall(mail.text)}


def test_a_survey_takes_a_one_click_score_then_a_comment_recorded_on_the_case(
    portal_client: TestClient, outbox: MemoryOutbox, container: Container, admin: Headers
) -> None:
    case_id = _case(container, "maya", "Lamp flickers", "It flickers.")
    cases.change_status(container.uow(), SYSTEM, container.clock.now(), case_id, CaseStatus.SOLVED)
    links = _survey_links(container, outbox)
    assert sorted(links) == [1, 2, 3, 4, 5]
    # Sending again sends nothing: one survey per case.
    assert portal.send_due_surveys(
        container.uow, outbox, container.clock.now(),
        link_for=lambda s, n: "", valid_for=timedelta(days=14),
    ) == 0  # fmt: skip
    clicked = portal_client.get(links[4], params={"score": 4})
    assert clicked.status_code == 200 and "you gave us 4 out of 5" in clicked.text
    commented = portal_client.post(links[4], data={"score": "5", "comment": "Fast and kind."})
    assert commented.status_code == 200
    api = portal_client.get(f"/api/v1/cases/{case_id}/survey", headers=admin)
    assert api.status_code == 200
    body = api.json()
    assert (body["score"], body["comment"], body["satisfied"]) == (5, "Fast and kind.", True)
    report = portal_client.get("/api/v1/satisfaction", headers=admin).json()
    assert report["answered"] == 1 and report["average"] == "5.00"
    with container.uow() as uow:
        answers = [e for e in uow.audit.for_case(case_id) if e.action == "survey.answered"]
        assert [e.after for e in answers] == [
            {"score": 4},
            {"score": 5, "comment": "Fast and kind."},
        ]
        assert {e.actor for e in answers} == {"customer:maya"}
    assert "rated our help 5" in _signed_in_case_page(portal_client, outbox, case_id)


def _signed_in_case_page(client: TestClient, outbox: MemoryOutbox, case_id: int) -> str:
    sign_in(client, outbox, "maya@example.com")
    return client.get(f"/portal/cases/{case_id}").text


def test_survey_links_are_unforgeable_and_close(
    portal_client: TestClient, outbox: MemoryOutbox, container: Container, clock: ManualClock
) -> None:
    case_id = _case(container, "maya", "Lamp flickers", "It flickers.")
    cases.change_status(container.uow(), SYSTEM, clock.now(), case_id, CaseStatus.SOLVED)
    links = _survey_links(container, outbox)
    assert portal_client.get("/portal/survey/forged-token", params={"score": 1}).status_code == 404
    bad = portal_client.get(links[1], params={"score": 9})
    assert bad.status_code == 422
    clock.advance(days=15)
    late = portal_client.get(links[1], params={"score": 1})
    assert late.status_code == 401 and 'data-code="token_expired"' in late.text
    with container.uow() as uow:
        survey = uow.portal.survey_for_case(case_id)
        assert survey is not None and survey.score is None


def test_links_and_paths_from_before_the_survey_was_named_keep_working(
    portal_client: TestClient, outbox: MemoryOutbox, container: Container, admin: Headers
) -> None:
    """Survey mail already sent links to /portal/csat/…; dashboards read /api/v1/…/csat and
    webhooks subscribed to csat.* (docs/glossary.md, "Deprecated names")."""
    now = container.clock.now()
    with container.uow() as uow:
        subscriptions = [
            Subscription(None, "https://hooks.example.com/a", events, "whsec_x", now, now)
            for events in (["csat.*"], ["survey.answered"])
        ]
        for subscription in subscriptions:
            uow.webhooks.add_subscription(subscription)
        uow.commit()
    case_id = _case(container, "maya", "Lamp flickers", "It flickers.")
    cases.change_status(container.uow(), SYSTEM, now, case_id, CaseStatus.SOLVED)
    former = _survey_links(container, outbox)[5].replace("/portal/survey/", "/portal/csat/")
    clicked = portal_client.get(former, params={"score": 5})
    assert clicked.status_code == 200 and "you gave us 5 out of 5" in clicked.text
    assert portal_client.post(former, data={"comment": "Kind."}).status_code == 200
    for new, old in (
        (f"/api/v1/cases/{case_id}/survey", f"/api/v1/cases/{case_id}/csat"),
        ("/api/v1/satisfaction", "/api/v1/csat"),
    ):
        answer = portal_client.get(new, headers=admin).json()
        assert portal_client.get(old, headers=admin).json() == answer
    assert answer["items"][0]["comment"] == "Kind."
    with container.uow() as uow:
        received = [
            [(d.event, d.payload["event"]) for d in uow.webhooks.deliveries(s.id, 10, None)]
            for s in subscriptions
            if s.id is not None
        ]
    answered = [("csat.answered",) * 2] * 2
    assert received == [[*answered, ("csat.sent",) * 2], [("survey.answered",) * 2] * 2]


# --- mail through the durable queue -----------------------------------------------------------


def test_sign_in_links_and_surveys_leave_through_the_mail_queue(
    container: Container, store: None
) -> None:
    app = create_app(container=container)
    assert isinstance(app.state.portal_mailer, QueuedCustomerMailer)
    with TestClient(app) as client:
        client.post("/portal/sign-in", data={"email": "maya@example.com"})
        client.post("/portal/sign-in", data={"email": "nobody@example.com"})
    case_id = _case(container, "maya", "Lamp flickers", "It flickers.")
    cases.change_status(container.uow(), SYSTEM, container.clock.now(), case_id, CaseStatus.SOLVED)
    container.settings.portal_url = "https://help.example.com/portal"
    send_surveys(container.job_context(), survey_options(container.settings))
    with container.uow() as uow:
        queued = uow.mail.find(direction=MailDirection.OUT, status=None, limit=10)
        jobs = [j for j in uow.jobs.find(None, 50, None) if j.kind == "mail.send"]
    assert [(r.to, r.template) for r in reversed(queued)] == [
        (["maya@example.com"], "magic_link"),
        (["maya@example.com"], "satisfaction_survey"),
    ]
    sign_in_mail, survey_mail = reversed(queued)
    assert sign_in_mail.body_text is not None and "/portal/sign-in/" in sign_in_mail.body_text
    assert survey_mail.case_id == case_id and survey_mail.body_text is not None
    assert "https://help.example.com/portal/survey/" in survey_mail.body_text
    assert "?score=5" in survey_mail.body_text
    assert len(jobs) == 2


def test_an_admin_can_print_a_sign_in_link_and_send_surveys_now(
    portal_client: TestClient,
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("CAREDESK_SEMANTIC_SEARCH", "false")
    runner = CliRunner()
    printed = runner.invoke(
        app, ["portal", "link", "maya@example.com", "--url", "http://testserver/portal"]
    )
    assert printed.exit_code == 0, printed.output
    found = LINK.search(printed.output)
    assert found is not None
    assert _follow(portal_client, found.group(1)).status_code == 303
    assert "Desk lamp" in portal_client.get("/portal/orders").text
    unknown = runner.invoke(app, ["portal", "link", "nobody@example.com"])
    assert unknown.exit_code == 1 and "not_found" in unknown.output
    with container.uow() as uow:
        issued = uow.audit.for_entity("customer", "maya")
        assert [e.action for e in issued][:1] == ["portal.link_issued"]
        assert issued[0].actor == "system"

    case_id = _case(container, "maya", "Lamp flickers", "It flickers.")
    # The command runs on the wall clock: the case is solved then.
    cases.change_status(container.uow(), SYSTEM, datetime.now(UTC), case_id, CaseStatus.SOLVED)
    sent = runner.invoke(app, ["portal", "send-surveys"])
    assert sent.exit_code == 0, sent.output
    assert "1 surveys queued" in sent.output
    with container.uow() as uow:
        assert uow.portal.survey_for_case(case_id) is not None


def test_portal_pages_never_write(
    portal_client: TestClient, outbox: MemoryOutbox, container: Container
) -> None:
    """A customer reading the portal takes no write lock and writes nothing."""
    case_id = _case(container, "maya", "Lamp flickers", "My lamp flickers.")
    sign_in(portal_client, outbox, "maya@example.com")
    pages = [
        "/portal",
        "/portal/sign-in",
        "/portal/cases/new",
        f"/portal/cases/{case_id}",
        "/portal/orders",
        "/portal/help",
    ]
    for path in pages:
        assert portal_client.get(path).status_code == 200, path  # and warm any cache
    writing: list[str] = []
    for path in pages:
        with statements_sent(container.engine) as seen:
            portal_client.get(path)
        writing += [f"GET {path}: {s}" for s in writes(seen)]
    assert writing == [], "\n".join(writing)
