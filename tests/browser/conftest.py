"""Browser tests: a live caredesk over the demo store, driven by Playwright in Debian's chromium.

Every test here is marked `browser` and skips, with the reason, when chromium or Playwright is
missing. The server runs in a thread of the test process, on a free 127.0.0.1 port, over a
migrated temporary SQLite database with the demo store loaded, so tests can also reach the
same database through `live.container` to set up or check what the browser cannot see.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from caredesk.adapters.db.engine import build_engine
from caredesk.adapters.db.migrate import upgrade
from caredesk.bootstrap import Container, bootstrap
from caredesk.settings import Settings
from tests.conftest import CHEAP_HASHER

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

HERE = Path(__file__).parent
# A test run leaves the checkout as it found it: screenshots go to a scratch folder unless
# CAREDESK_SCREENSHOTS names one (`make screenshots` refreshes docs/screenshots).
SCREENSHOTS_ENV = "CAREDESK_SCREENSHOTS"
CHROMIUM_ENV = "CAREDESK_CHROMIUM"
PASSWORD = "caredesk-browser-tests"
DEMO_CUSTOMERS = 40


def chromium_path() -> str | None:
    """Debian's chromium, or the one named in CAREDESK_CHROMIUM."""
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        return named if Path(named).exists() else None
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def skip_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[dev]')"
    if chromium_path() is None:
        where = os.environ.get(CHROMIUM_ENV) or "/usr/bin/chromium"
        return f"no chromium at {where} (apt-get install -y chromium)"
    return None


try:
    import playwright  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    # The test modules import Playwright at the top; without it they cannot even be collected.
    collect_ignore_glob = ["test_*.py"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = skip_reason()
    for item in items:
        if HERE not in Path(str(item.fspath)).parents:
            continue
        item.add_marker(pytest.mark.browser)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    base_url: str
    container: Container
    password: str

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import uvicorn

    from caredesk import demo
    from caredesk.web.app import create_app

    path = tmp_path_factory.mktemp("browser") / "caredesk.db"
    url = f"sqlite:///{path}"
    engine = build_engine(url)
    upgrade(engine)
    engine.dispose()
    settings = Settings(
        database_url=url,
        log_json=True,
        log_level="warning",
        embedded_worker=False,
        embed_in_background=False,
        session_cookie_secure=False,
    )
    container = bootstrap(settings, hasher=CHEAP_HASHER)
    demo.load_demo(
        container.uow,
        container.hasher,
        container.clock.now(),
        seed=settings.demo_seed,
        customers=DEMO_CUSTOMERS,
        admin_email=settings.demo_admin_email,
        admin_password=PASSWORD,
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(container=container),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, name="live-caredesk", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", container, PASSWORD)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# Package scope: Playwright's sync API keeps an event loop running in the main thread, so
# it must stop before the rest of the suite runs tests that start their own (MCP).
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    assert executable is not None
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Fresh browser contexts (separate cookies and storage), closed after the test."""
    opened: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = browser.new_context(**{"viewport": {"width": 1366, "height": 900}, **options})
        context.set_default_timeout(15_000)
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()


@pytest.fixture
def sign_in(live: LiveServer, new_context: Callable[..., BrowserContext]) -> Callable[[str], Page]:
    """A page signed in as the demo agent with this email, in its own context."""

    def make(email: str) -> Page:
        page = new_context().new_page()
        page.goto(live.url("/login"))
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(live.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/queue**")
        return page

    return make


def screenshot(page: Page, name: str) -> None:
    """Save a screenshot for the README and docs/console.md."""
    chosen = os.environ.get(SCREENSHOTS_ENV)
    folder = Path(chosen) if chosen else Path(tempfile.gettempdir()) / "caredesk-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=False)
