"""The case page at a glance: on a 1440×900 screen the customer and the top offer need no
scrolling, and an action's confirmation shows where the agent is looking."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_console import AGENT, fresh_story_case, story_case

SignIn = Callable[[str], Page]
SCREEN = {"width": 1440, "height": 900}


def in_first_screen(locator: Locator) -> bool:
    box = locator.bounding_box()
    assert box is not None, "not rendered"
    return box["y"] >= 0 and box["y"] + box["height"] <= SCREEN["height"]


def test_customer_and_top_offer_are_on_the_first_screen(live: LiveServer, sign_in: SignIn) -> None:
    case_id = story_case(live, "Our agreed delivery date")
    page = sign_in(AGENT)
    page.set_viewport_size(SCREEN)
    page.goto(live.url(f"/cases/{case_id}"))
    customer = page.locator("section.customer")
    top = page.locator("li.top-offer")
    expect(customer).to_contain_text("Lifetime value")
    expect(customer).to_contain_text("Open cases")
    expect(top).to_be_visible()
    assert page.evaluate("window.scrollY") == 0
    assert in_first_screen(customer), customer.bounding_box()
    assert in_first_screen(top), top.bounding_box()
    # The story starts on the first screen too, beside them.
    assert in_first_screen(page.locator("#story-title"))
    screenshot(page, "case")


def test_a_grant_confirms_at_the_top_in_view(live: LiveServer, sign_in: SignIn) -> None:
    case_id = fresh_story_case(live, "Will the baby monitor")
    page = sign_in(AGENT)
    page.set_viewport_size(SCREEN)
    page.goto(live.url(f"/cases/{case_id}"))
    page.mouse.wheel(0, 400)
    page.locator("li.top-offer").get_by_role("button", name="Grant").click()
    notice = page.get_by_role("status")
    expect(notice).to_contain_text(re.compile("Granted"), timeout=20_000)
    expect(notice).to_be_focused()
    assert in_first_screen(notice), notice.bounding_box()


def test_send_and_mark_solved_confirms_at_the_top_in_view(
    live: LiveServer, sign_in: SignIn
) -> None:
    case_id = fresh_story_case(live, "Our agreed delivery date")
    page = sign_in(AGENT)
    page.set_viewport_size(SCREEN)
    page.goto(live.url(f"/cases/{case_id}"))
    body = page.get_by_label("Message", exact=True)
    body.fill("Your desk ships today by express; sorry for the wait.")
    body.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 0  # the reply box is below the first screen
    page.get_by_role("button", name="Send and mark solved").click()
    notice = page.get_by_role("status")
    expect(notice).to_contain_text("solved", timeout=20_000)
    expect(notice).to_be_focused()
    assert in_first_screen(notice), notice.bounding_box()
    expect(page.locator(".case-head .status")).to_have_text("solved")
