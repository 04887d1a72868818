"""The README's first hour in chromium, from what `make demo` prints and nothing else.

The demo is loaded and served by the same commands `make demo` runs (`caredesk db upgrade`,
`caredesk demo load`, `caredesk serve`), on a port of its own and a database of its own. The
test then reads the printed lines as a new user would: the sign-in address and password, each
story's agent, the portal, the outbox and the API docs; it works every story as its agent
(the one over the agent's authority through a lead), signs a customer in to the portal
through the link waiting in the outbox, and opens the API docs with the internet cut off.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx2 as httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.browser.conftest import screenshot

NewContext = Callable[..., BrowserContext]
CAREDESK = Path(sys.executable).with_name("caredesk")
STORY_LINE = re.compile(r"^\s+([a-z-]+)\s+(\S+@\S+)\s+(.+?)\s*$")
# Stories whose best offer is over an agent's authority, and so goes to a lead.
NEEDS_A_LEAD = {"escalated-script"}


@dataclass
class Printed:
    """What `caredesk demo load` told the user, and where the server it named runs."""

    lines: str
    sign_in: str
    password: str
    portal: str
    outbox: str
    api_docs: str
    token: str
    stories: dict[str, str]  # story -> agent email
    lead: str


def _run(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(CAREDESK), *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _after(label: str, text: str) -> str:
    found = re.search(rf"{re.escape(label)}\s*(\S+)", text)
    assert found is not None, f"`{label}` is not in what demo load printed:\n{text}"
    return found.group(1)


def _parse(text: str) -> Printed:
    stories: dict[str, str] = {}
    block = text.split("and who has each:", 1)[1].split("Agents", 1)[0]
    for line in block.splitlines():
        found = STORY_LINE.match(line)
        if found:
            stories[found.group(1)] = found.group(2)
    lead = re.search(r"^\s+lead\s+(\S+@\S+)", text, re.MULTILINE)
    assert lead is not None, text
    return Printed(
        lines=text,
        sign_in=_after("Sign in at", text),
        password=_after("password (every demo account):", text),
        portal=_after("Customers' portal:", text),
        outbox=_after("the link they are mailed waits at", text),
        api_docs=_after("API docs:", text),
        token=text.split("shown once, a fresh one each load):", 1)[1].split()[0],
        stories=stories,
        lead=lead.group(1),
    )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Printed]:
    if not CAREDESK.exists():
        pytest.skip(f"no caredesk command beside {sys.executable}")
    folder = tmp_path_factory.mktemp("readme-demo")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CAREDESK_")},
        "CAREDESK_DATABASE_URL": f"sqlite:///{folder / 'caredesk.db'}",
        "CAREDESK_BASE_URL": base,  # what `make demo` sets from HOST and PORT
        # The model is not what this test is about; the server starts in seconds without it.
        "CAREDESK_SEMANTIC_SEARCH": "false",
        "CAREDESK_LOG_LEVEL": "warning",
        "HF_HUB_OFFLINE": "1",
    }
    upgraded = _run("db", "upgrade", env=env)
    assert re.fullmatch(r"database at revision \S+\n", upgraded), upgraded  # one head
    printed = _parse(_run("demo", "load", "--customers", "40", "--port", str(port), env=env))
    server = subprocess.Popen(
        [str(CAREDESK), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, "caredesk serve stopped"
            assert time.monotonic() < deadline, "caredesk serve did not answer"
            time.sleep(0.2)
        yield printed
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)


def _sign_in(new_context: NewContext, demo: Printed, email: str) -> Page:
    page = new_context(viewport={"width": 1440, "height": 900}).new_page()
    page.goto(demo.sign_in)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(demo.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/queue**")
    return page


def _story(demo: Printed, story: str) -> dict[str, object]:
    """The story's case, found the way the README's curl finds it."""
    api = demo.sign_in.rstrip("/") + "/api/v1/cases"
    found = httpx.get(
        api,
        params={"tag": f"story:{story}"},
        headers={"Authorization": f"Bearer {demo.token}"},
        timeout=30,
    )
    assert found.status_code == 200, found.text
    items = found.json()["items"]
    assert len(items) == 1, items
    case: dict[str, object] = items[0]
    return case


def test_every_printed_address_is_the_servers(demo: Printed) -> None:
    origin = urlsplit(demo.sign_in).netloc
    for address in re.findall(r"https?://[^\s)]+", demo.lines):
        assert urlsplit(address).netloc == origin, address
    assert set(demo.stories) == {
        "label-printer",
        "missed-date",
        "wrong-items",
        "new-baby",
        "escalated-script",
    }


def test_each_story_is_in_its_agents_cases_and_is_granted(
    demo: Printed, new_context: NewContext
) -> None:
    for story, agent in demo.stories.items():
        case = _story(demo, story)
        page = _sign_in(new_context, demo, agent)
        # Signing in lands on the agent's own queue, where the story waits.
        expect(page).to_have_url(re.compile(r"/queue(\?view=mine)?$"))
        link = page.get_by_role("link", name=re.compile(re.escape(str(case["subject"])))).first
        expect(link).to_be_visible()
        link.click()
        expect(page).to_have_url(re.compile(rf"/cases/{case['id']}$"), timeout=15_000)
        expect(page.locator("section.customer")).to_contain_text("Lifetime value")
        top = page.locator("li.top-offer")
        expect(top).to_be_visible()
        if story in NEEDS_A_LEAD:
            top.get_by_role("button", name=re.compile("Ask a lead")).click()
            expect(page.get_by_role("status")).to_contain_text("Sent for approval")
            lead = _sign_in(new_context, demo, demo.lead)
            lead.get_by_role("link", name=re.compile("Approvals")).click()
            request = lead.locator("li.approval").filter(has_text=f"#{case['id']}")
            request.get_by_role("button", name="Approve and grant").click()
            expect(lead.get_by_role("status")).to_contain_text("Approved")
            page.reload()
            expect(page.locator(".entry-grant").first).to_contain_text("executed")
        else:
            top.get_by_role("button", name="Grant").click()
            expect(page.get_by_role("status")).to_contain_text("Granted")
        page.context.close()


def test_a_customer_signs_in_through_the_link_in_the_outbox(
    demo: Printed, new_context: NewContext
) -> None:
    case = _story(demo, "new-baby")
    customer = httpx.get(
        demo.sign_in.rstrip("/") + f"/api/v1/customers/{case['customer_id']}",
        headers={"Authorization": f"Bearer {demo.token}"},
        timeout=30,
    ).json()
    email = customer["emails"][0]

    portal_page = new_context().new_page()
    portal_page.goto(demo.portal)
    portal_page.get_by_label("Email address").fill(email)
    portal_page.get_by_role("button", name="Email me a sign-in link").click()
    expect(portal_page.get_by_role("heading", name="Check your email")).to_be_visible()

    admin_email = re.search(r"or as the admin (\S+@\S+)", demo.lines)
    assert admin_email is not None
    admin = _sign_in(new_context, demo, admin_email.group(1))
    admin.goto(demo.outbox)
    # The server's own worker delivers the mail to the outbox within a few polls.
    row = admin.locator("tr").filter(has_text=email).filter(has_text="Your sign-in link")
    mail = row.get_by_role("link", name="Your sign-in link").first
    for _ in range(30):
        if mail.count():
            break
        admin.wait_for_timeout(1000)
        admin.reload()
    screenshot(admin, "outbox")
    mail.click()
    link = admin.locator("ul.outbox-links a").filter(has_text="/portal/sign-in/").first
    href = link.get_attribute("href")
    assert href is not None and href.startswith(demo.portal), href

    portal_page.goto(href)
    portal_page.get_by_role("button", name="Continue").click()
    expect(portal_page.get_by_role("heading", name="My requests")).to_be_visible()
    expect(portal_page.get_by_text(str(case["subject"]))).to_be_visible()


def test_the_api_docs_open_with_the_internet_cut_off(
    demo: Printed, new_context: NewContext
) -> None:
    context = new_context()
    refused: list[str] = []
    desk = urlsplit(demo.api_docs).hostname

    def only_the_desk(route: Route) -> None:
        if urlsplit(route.request.url).hostname == desk:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_the_desk)
    page = context.new_page()
    page.goto(demo.api_docs)
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/cases").first).to_be_visible()
    assert refused == []
