"""A lead follows the dashboard (/reports) to the retention report and reads it in chromium."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, screenshot

LEAD = "lena.lead@caredesk.example"


def test_a_lead_reads_what_each_remedy_returned(
    live: LiveServer, sign_in: Callable[[str], Page]
) -> None:
    page = sign_in(LEAD)
    page.get_by_role("link", name="Dashboard").click()
    page.get_by_role("link", name="Retention after a remedy").click()
    expect(page.get_by_role("heading", name="Retention after a remedy")).to_be_visible()
    by_remedy = page.get_by_role("table", name="By remedy, within 30 days")
    expect(by_remedy.get_by_role("rowheader", name="(no remedy)")).to_be_visible()
    # The demo's few dozen cases make small groups: the page says so rather than draw them.
    expect(page.locator("#too-few")).to_contain_text("too small to say anything")
    # The period is in the address, so that a view can be shared.
    page.get_by_role("link", name="60 days").click()
    expect(page).to_have_url(re.compile(r"/reports/retention\?start=[\d-]+&end=[\d-]+&window=60$"))
    expect(page.get_by_role("table", name="By remedy, within 60 days")).to_be_visible()
    screenshot(page, "retention")
