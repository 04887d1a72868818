"""The customer portal in chromium: sign in by the link from the mail queue, reply with a
file, a self-service return through the policy, and a one-click satisfaction survey."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from caredesk.domain.agents import SYSTEM
from caredesk.domain.cases import CaseStatus, Channel, MessageKind
from caredesk.domain.customers import Address
from caredesk.domain.mail import MailDirection
from caredesk.domain.orders import (
    OrderStatus,
)
from caredesk.services.cases import cases
from caredesk.services.channels import portal
from caredesk.services.channels.portal_mail import QueuedCustomerMailer
from tests import factories
from tests.browser.conftest import LiveServer, screenshot

D = Decimal
LINK = re.compile(r"https?://\S+/portal/sign-in/[A-Za-z0-9_\-]+")
SCORE_LINK = re.compile(r"https?://\S+/portal/survey/[A-Za-z0-9_\-]+\?score=5")
NewContext = Callable[..., BrowserContext]


def _latest_mail(live: LiveServer, address: str, template: str) -> str:
    """The text of the newest queued mail of this template to this address."""
    with live.container.uow.read_only() as uow:
        for record in uow.mail.find(direction=MailDirection.OUT, status=None, limit=200):
            if record.to == [address] and record.template == template and record.body_text:
                return record.body_text
    raise AssertionError(f"no {template} mail to {address} was queued")


@pytest.fixture(scope="module")
def ann(live: LiveServer) -> dict[str, object]:
    """A customer of our own (the demo store is shared): a recent delivery and a case."""
    now = live.container.clock.now()
    kettle = factories.variant("portal-kettle-red", "portal-kettle", "35.00", "11.00", colour="red")
    factories.store(
        live.container,
        factories.customer(
            "portal-ann",
            now,
            last_name="Portal",
            email="ann.portal@example.com",
            addresses=[Address("9 Oak Rd", city="Leeds", zip="LS1")],
            card="card_ann",
            last_four="1111",
        ),
        factories.product("portal-kettle", "Travel kettle", kettle),
        factories.order(
            "ANN-1",
            "portal-ann",
            now,
            factories.line(kettle.id, kettle.product_id, "Travel kettle", "35.00", colour="red"),
            address=Address("9 Oak Rd"),
            paid_by=[("card_ann", D("35.00"))],
            tracking="1ZANN",
            delivered=timedelta(days=2),
            placed=timedelta(days=6),
        ),
    )
    view = cases.create_case(
        live.container.uow(), SYSTEM, now, customer_id="portal-ann",
        subject="Kettle lid is loose", body="The lid does not close.", channel=Channel.EMAIL,
    )  # fmt: skip
    case_id = view.case.id
    assert case_id is not None
    cases.add_message(live.container.uow(), SYSTEM, now, case_id, kind=MessageKind.OUTBOUND,
                      body="Sorry about that! Could you send a photo?")  # fmt: skip
    cases.add_message(live.container.uow(), SYSTEM, now, case_id, kind=MessageKind.NOTE,
                      body="Internal: check the batch")  # fmt: skip
    return {"email": "ann.portal@example.com", "case_id": case_id}


def portal_sign_in(live: LiveServer, new_context: NewContext, email: str) -> Page:
    page = new_context().new_page()
    page.goto(live.url("/portal"))
    expect(page).to_have_url(re.compile(r"/portal/sign-in$"))
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    found = LINK.search(_latest_mail(live, email, "magic_link"))
    assert found is not None
    page.goto(found.group(0))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="My requests")).to_be_visible()
    return page


def test_sign_in_by_magic_link_and_reply_with_a_photo(
    live: LiveServer, new_context: NewContext, ann: dict[str, object], tmp_path: object
) -> None:
    page = portal_sign_in(live, new_context, str(ann["email"]))
    page.get_by_role("link", name="Kettle lid is loose").click()
    messages = page.get_by_role("list", name="Messages")
    expect(messages).to_contain_text("Could you send a photo?")
    expect(messages).not_to_contain_text("Internal: check the batch")
    page.get_by_label("Your message").fill("Here is the photo of the lid.")
    page.get_by_label("Attach files").set_input_files(
        {"name": "lid.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff lid photo"}
    )
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("Your message is on the case")
    expect(messages).to_contain_text("Here is the photo of the lid.")
    expect(messages.get_by_role("link", name="lid.jpg")).to_be_visible()
    screenshot(page, "portal-case")
    case_id = int(str(ann["case_id"]))
    with live.container.uow.read_only() as uow:
        last = uow.cases.messages(case_id)[-1]
    assert last.kind is MessageKind.INBOUND and last.author_customer_id == "portal-ann"
    assert [a.filename for a in last.attachments] == ["lid.jpg"]

    # The link was for one sign-in only.
    again = new_context().new_page()
    again.goto(LINK.search(_latest_mail(live, str(ann["email"]), "magic_link")).group(0))  # type: ignore[union-attr]
    again.get_by_role("button", name="Continue").click()
    expect(again.get_by_role("alert")).to_contain_text("already used")


def test_self_service_return_on_a_phone(
    live: LiveServer, new_context: NewContext, ann: dict[str, object]
) -> None:
    page = portal_sign_in(live, new_context, str(ann["email"]))
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="My orders").click()
    order = page.locator("#order-ANN-1")
    expect(order).to_contain_text("Travel kettle")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    order.get_by_role("link", name="Return with a prepaid label").click()
    expect(page.get_by_role("heading", name="Return with a prepaid label")).to_be_visible()
    screenshot(page, "portal-return")
    page.get_by_role("checkbox", name="Yes, I want to do this").check()
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Done")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("how to return the items")
    with live.container.uow.read_only() as uow:
        placed = uow.orders.get("ANN-1")
        granted = uow.grants.for_customer("portal-ann")
    assert placed is not None and placed.status is OrderStatus.RETURN_REQUESTED
    assert [(g.remedy_ids, g.actor) for g in granted] == [(["return"], "customer:portal-ann")]
    page.get_by_role("link", name="Back to my orders").click()
    expect(page.locator("#order-ANN-1")).not_to_contain_text("Return with a prepaid label")


def test_one_click_survey_then_a_comment(
    live: LiveServer, new_context: NewContext, ann: dict[str, object]
) -> None:
    case_id = int(str(ann["case_id"]))
    now = live.container.clock.now()
    with live.container.uow.read_only() as uow:
        case = uow.cases.get(case_id)
    if case is not None and case.status is not CaseStatus.SOLVED:
        cases.change_status(live.container.uow(), SYSTEM, now, case_id, CaseStatus.SOLVED)
    portal.send_survey(
        live.container.uow(),
        QueuedCustomerMailer(),
        now,
        case_id,
        link_for=portal.survey_links(live.url("/portal")),
        valid_for=timedelta(days=14),
    )
    found = SCORE_LINK.search(_latest_mail(live, str(ann["email"]), "satisfaction_survey"))
    assert found is not None
    page = new_context().new_page()
    page.goto(found.group(0))
    expect(page.get_by_role("status")).to_contain_text("5 out of 5")
    page.get_by_label("Anything you want to tell us?").fill("Quick and friendly.")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("We read every comment")
    with live.container.uow.read_only() as uow:
        survey = uow.portal.survey_for_case(case_id)
    assert survey is not None and (survey.score, survey.comment) == (5, "Quick and friendly.")
