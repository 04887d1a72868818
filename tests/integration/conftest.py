"""HTTP-level fixtures: an in-process client on the real database, tokens per role, and a
local HTTP receiver for what the desk sends out."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Role
from caredesk.services.access import auth
from caredesk.web.app import create_app

Headers = dict[str, str]


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container=container)) as test_client:
        yield test_client


@pytest.fixture
def app_client(store: Container) -> Iterator[TestClient]:
    """The console as a browser meets it (redirects not followed), over the module's `store`."""
    with TestClient(create_app(container=store), follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def token_for(container: Container) -> Callable[[Role], Headers]:
    def make(role: Role, agent_id: int | None = None) -> Headers:
        issued = auth.create_token(
            container.uow(),
            SYSTEM,
            container.clock.now(),
            name=f"test-{role.value}",
            role=role,
            agent_id=agent_id,
        )
        return {"Authorization": f"Bearer {issued.secret}"}

    return make


@pytest.fixture
def admin(token_for: Callable[[Role], Headers]) -> Headers:
    return token_for(Role.ADMIN)


@pytest.fixture
def agent(token_for: Callable[[Role], Headers]) -> Headers:
    return token_for(Role.AGENT)


@pytest.fixture
def editor(token_for: Callable[[Role], Headers]) -> Headers:
    return token_for(Role.EDITOR)


@pytest.fixture
def viewer(token_for: Callable[[Role], Headers]) -> Headers:
    return token_for(Role.VIEWER)


CUSTOMER: dict[str, Any] = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "emails": ["ada@example.com"],
    "phones": ["+44 20 7946 0000"],
    "addresses": [{"address1": "1 Analytical Way", "city": "London", "country": "UK"}],
    "tier": "gold",
}


@pytest.fixture
def customer(client: TestClient, admin: Headers) -> dict[str, Any]:
    response = client.post("/api/v1/customers", json=CUSTOMER, headers=admin)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def new_case(
    client: TestClient, agent: Headers, customer: dict[str, Any]
) -> Callable[..., dict[str, Any]]:
    def make(**fields: Any) -> dict[str, Any]:
        payload = {"customer_id": customer["id"], "subject": "Printer stopped working", **fields}
        response = client.post("/api/v1/cases", json=payload, headers=agent)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    return make


class Receiver:
    """A local HTTP endpoint that records what it gets and answers with scripted statuses."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.redirect_to: str | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers.items()), body))
                code = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(code)
                if receiver.redirect_to:
                    self.send_header("Location", receiver.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def events(self) -> list[str]:
        return [h["X-Caredesk-Event"] for h, _ in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()
