"""The report pages in chromium over the demo's 90 days: the lead's dashboard and an agent's
own page draw their figures and charts, and a figure opens the queue of its cases."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, screenshot

AGENT = "alex@caredesk.example"
LEAD = "lena.lead@caredesk.example"
SignIn = Callable[[str], Page]


def _last_90_days(live: LiveServer) -> str:
    today = live.container.clock.now().date()
    return f"start={(today - timedelta(days=89)).isoformat()}&end={today.isoformat()}"


def test_the_lead_reads_the_dashboard_and_opens_a_figure(live: LiveServer, sign_in: SignIn) -> None:
    page = sign_in(LEAD)
    page.goto(live.url(f"/reports?{_last_90_days(live)}"))
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    assert page.locator('.charts svg[role="img"]').count() >= 5
    expect(page.locator("table.agents-report tbody tr").first).to_be_visible()
    screenshot(page, "reports-dashboard")
    page.locator('[data-figure="Opened"]').click()
    expect(page).to_have_url(re.compile(r"/queue\?view=all&start="))


def test_an_agent_reads_their_own_page(live: LiveServer, sign_in: SignIn) -> None:
    page = sign_in(AGENT)
    page.get_by_role("link", name="My reports").click()
    expect(page.get_by_role("heading", name="My reports")).to_be_visible()
    page.goto(live.url(f"/me/reports?{_last_90_days(live)}"))
    expect(page.locator('[data-figure="Opened"]')).to_be_visible()
    screenshot(page, "reports-agent")
