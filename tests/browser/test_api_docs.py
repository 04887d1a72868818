"""/api/docs in chromium with every address outside the desk unreachable: Swagger UI still
loads, lists the operations and breaks no rule of the page's security policy."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, ConsoleMessage, Route, expect

from tests.browser.conftest import LiveServer, screenshot


def test_the_api_docs_work_offline(
    live: LiveServer, new_context: Callable[..., BrowserContext]
) -> None:
    context = new_context()
    refused: list[str] = []

    def only_the_desk(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_the_desk)
    page = context.new_page()
    complaints: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if message.type == "error":
            complaints.append(message.text)

    page.on("console", note)
    page.goto(live.url("/api/docs"))
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/cases").first).to_be_visible()
    expect(page.get_by_role("heading", name="caredesk")).to_be_visible()
    # Open one operation: its parameters render from the document, offline too.
    page.locator("#operations-cases-list_cases_api_v1_cases_get").click()
    expect(page.get_by_text("Parameters").first).to_be_visible()
    screenshot(page, "api-docs")
    assert refused == []
    assert [text for text in complaints if "Content Security Policy" in text] == []
