"""Contract tests: Zendesk's own clients against a live `caredesk serve` on loopback.

The desk under test runs as a separate process (`caredesk serve` on a free 127.0.0.1 port)
over a temporary SQLite database holding the demo store, exactly as an operator starts it;
the clients reach it by their documented settings (zenpy's ZENPY_FORCE_SCHEME and
ZENPY_FORCE_NETLOC, node-zendesk's endpointUri), never by hand-built HTTP. The server is
started once per test process and stops when the tests do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from caredesk import demo
from caredesk.adapters.db.engine import build_engine
from caredesk.adapters.db.migrate import upgrade
from caredesk.bootstrap import Container, bootstrap
from caredesk.domain.agents import SYSTEM, Actor, Role
from caredesk.domain.cases import MessageKind
from caredesk.services.access import auth
from caredesk.services.cases import cases
from caredesk.services.cases.cases import NewAttachment
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.zendesk.ports import TicketField
from caredesk.settings import Settings
from tests.conftest import CHEAP_HASHER
from tests.integration.mail_peers import free_port

if TYPE_CHECKING:
    from zenpy import Zenpy

DEMO_CUSTOMERS = 12
ADMIN_EMAIL = "admin@caredesk.example"
ADMIN_PASSWORD = "caredesk-contract-tests"
START_SECONDS = 60
# A ticket field as an import from Zendesk leaves it: the desk makes none of its own.
ORDER_FIELD = TicketField(id=360001, title="Order number", type="text", position=1)


@dataclass(frozen=True)
class LiveDesk:
    """A desk serving on loopback, and what a client needs to sign in to it."""

    base_url: str
    netloc: str
    database_url: str
    email: str
    token: str
    settings: Settings


def _desk_environment(database_url: str, model_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CAREDESK_DATABASE_URL": database_url,
        "CAREDESK_LOG_LEVEL": "warning",
        "CAREDESK_LOG_JSON": "true",
        "CAREDESK_EMBEDDED_WORKER": "false",
        "CAREDESK_SEMANTIC_SEARCH": "false",
        # The clients' requests come quicker than people's: the rate limits are tested elsewhere.
        "CAREDESK_RATE_LIMITS": "false",
        "CAREDESK_MODEL_DIR": str(model_dir),
    }


# Files the demo store has none of, so that every path the tests read carries some.
FILES = (
    NewAttachment("receipt.pdf", "application/pdf", b"%PDF-1.4 receipt " + bytes(range(256))),
    NewAttachment("label.png", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(255, -1, -1))),
)


def _add_files(container: Container, admin_id: int) -> None:
    """A customer's photo on one case and an agent's note with a file on another."""
    admin = Actor(role=Role.ADMIN, agent_id=admin_id)
    first, second = cases.list_cases(container.uow(), SYSTEM, CaseFilter(), 2, None).items
    for case, kind, actor, body, files in (
        (first, MessageKind.INBOUND, SYSTEM, "Here is the receipt and the label.", FILES),
        (second, MessageKind.NOTE, admin, "Label attached for the warehouse.", FILES[1:]),
    ):
        assert case.id is not None
        cases.add_message(
            container.uow(),
            actor,
            container.clock.now(),
            case.id,
            kind=kind,
            body=body,
            attachments=list(files),
        )


def _load(database_url: str, model_dir: Path) -> tuple[Settings, str]:
    """Migrate, load the demo store and issue the admin a token; the token's secret."""
    engine = build_engine(database_url)
    upgrade(engine)
    engine.dispose()
    settings = Settings(
        database_url=database_url,
        log_json=True,
        log_level="warning",
        embedded_worker=False,
        semantic_search=False,
        rate_limits=False,
        model_dir=model_dir,
    )
    container = bootstrap(settings, hasher=CHEAP_HASHER)
    try:
        summary = demo.load_demo(
            container.uow,
            container.hasher,
            container.clock.now(),
            seed=settings.demo_seed,
            customers=DEMO_CUSTOMERS,
            admin_email=ADMIN_EMAIL,
            admin_password=ADMIN_PASSWORD,
        )
        _add_files(container, summary.admin_id)
        uow = container.uow()
        with uow:
            uow.ticket_fields.put(ORDER_FIELD)
            uow.commit()
        issued = auth.create_token(
            container.uow(),
            SYSTEM,
            container.clock.now(),
            name="zendesk-contract",
            role=Role.ADMIN,
            agent_id=summary.admin_id,
        )
    finally:
        container.close()
    return settings, issued.secret


def _wait_until_serving(process: subprocess.Popen[bytes], base_url: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"caredesk serve exited with {process.returncode}")
        try:
            if requests.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"caredesk serve did not answer on {base_url} in {START_SECONDS} s")


@pytest.fixture(scope="session")
def live_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDesk]:
    folder = tmp_path_factory.mktemp("live-desk")
    database_url = f"sqlite:///{folder / 'caredesk.db'}"
    model_dir = folder / "models"
    model_dir.mkdir()
    settings, token = _load(database_url, model_dir)
    port = free_port()
    command = Path(sys.executable).with_name("caredesk")
    process = subprocess.Popen(
        [str(command), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_desk_environment(database_url, model_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(process, base_url)
        yield LiveDesk(
            base_url=base_url,
            netloc=f"127.0.0.1:{port}",
            database_url=database_url,
            email=ADMIN_EMAIL,
            token=token,
            settings=settings,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def zenpy_client(live_desk: LiveDesk, monkeypatch: pytest.MonkeyPatch) -> Zenpy:
    """zenpy signed in with the admin's `{email}/token` credentials, pointed at the live desk
    by the settings zenpy documents for a host of one's own."""
    from zenpy import Zenpy

    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", live_desk.netloc)
    # zenpy builds its URLs from a subdomain it then ignores for the forced host.
    return Zenpy(
        subdomain="caredesk",
        email=live_desk.email,
        token=live_desk.token,
        timeout=30,
        disable_cache=True,
    )
