"""Who may call what: every operation of the OpenAPI document × every kind of caller.

The expected answers are data, in tests/data/authorization.yaml: `ok` (past authentication
and authorization: any answer but 401 and 403, and never a 5xx), `401` or `403`. An
operation the document lists and the file does not (a new route) fails the test, and so
does an entry the document no longer has: the matrix always covers the whole API.

Each operation is called with a request its schema accepts (the simplest one, generated
from the schema), so a refusal is the caller's, not the body's. Paths name records that
exist, so an allowed caller reaches the handler.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, find
from hypothesis import settings as search_settings

from caredesk import demo
from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Role
from caredesk.domain.mail import INBOUND_SCOPE
from caredesk.services.access import auth
from caredesk.services.cases import cases, customers
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.channels.tools import TOOL_NAMES
from caredesk.services.engine import grants, policy
from caredesk.settings import Settings
from tests.integration.statements import statements_sent, writes
from tests.integration.test_api_fuzz import APP

MATRIX = Path(__file__).parent.parent / "data" / "authorization.yaml"
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@caredesk.example", "matrix-admin-password"
OK, UNAUTHENTICATED, FORBIDDEN = "ok", 401, 403
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)


@dataclass(frozen=True, slots=True)
class Caller:
    name: str
    headers: dict[str, str]


def _expected() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(MATRIX.read_text(encoding="utf-8"))
    groups: dict[str, dict[str, Any]] = data["groups"]
    return {
        operation: groups[answer] if isinstance(answer, str) else answer
        for operation, answer in data["operations"].items()
    }


def _documented() -> list[str]:
    return sorted(f"{op.method.upper()} {op.path}" for op in _operations())


def _operations() -> Iterator[Any]:
    for result in schema.get_all_operations():
        yield result.ok()


def test_the_matrix_covers_every_operation_and_nothing_else() -> None:
    expected = _expected()
    documented = _documented()
    assert sorted(set(documented) - set(expected)) == [], "add these to authorization.yaml"
    assert sorted(set(expected) - set(documented)) == [], "remove these from authorization.yaml"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The revoked token fails once per operation from one address: more than the sign-in
    throttle lets through, and a throttled answer (429) would hide the 401 it replaces."""
    return settings.model_copy(
        update={"sign_in_client_free_failures": 10_000, "sign_in_client_lock_failures": 10_000}
    )


@pytest.fixture
def callers(container: Container, store: dict[str, str]) -> list[Caller]:
    """One caller of each kind; a revoked token and none at all included."""
    now = container.clock.now()
    agent = next(a for a in auth.list_agents(container.uow(), SYSTEM) if a.role is Role.AGENT)
    admin_agent = auth.find_agent(container.uow(), SYSTEM, ADMIN_EMAIL)
    customer = customers.search_customers(container.uow(), SYSTEM, None, 1, None).items[0].id

    def token(name: str, role: Role, **limits: Any) -> dict[str, str]:
        issued = auth.create_token(container.uow(), SYSTEM, now, name=name, role=role, **limits)
        return {"Authorization": f"Bearer {issued.secret}"}

    revoked = auth.create_token(container.uow(), SYSTEM, now, name="gone", role=Role.ADMIN)
    auth.revoke_token(container.uow(), SYSTEM, now, revoked.token.id or 0)
    return [
        Caller("anonymous", {}),
        Caller("revoked", {"Authorization": f"Bearer {revoked.secret}"}),
        Caller("viewer", token("viewer", Role.VIEWER)),
        Caller("agent", token("agent", Role.AGENT, agent_id=agent.id)),
        Caller("editor", token("editor", Role.EDITOR)),
        Caller("lead", token("lead", Role.LEAD)),
        # Speaking for the demo's admin: confirming a policy change takes a person.
        Caller("admin", token("admin", Role.ADMIN, agent_id=admin_agent.id)),
        Caller("customer_token", token("bound", Role.AGENT, customer_id=customer)),
        Caller("tools_token", token("tools", Role.AGENT, tools=sorted(TOOL_NAMES))),
        Caller("inbound_token", token("mail relay", Role.AGENT, tools=[INBOUND_SCOPE])),
    ]


@pytest.fixture
def store(container: Container, client: TestClient, admin: dict[str, str]) -> dict[str, str]:
    """A small demo store, and the ids the paths of the matrix name: every path reaches a
    record that exists, so an allowed caller gets to the handler."""
    now = container.clock.now()
    demo.load_demo(
        container.uow,
        container.hasher,
        now,
        seed=3,
        customers=8,
        admin_email=ADMIN_EMAIL,
        admin_password=ADMIN_PASSWORD,
    )
    stories = {
        case.tags[-1].removeprefix("story:"): case
        for case in cases.list_cases(
            container.uow(), SYSTEM, CaseFilter(tag=demo.STORY_TAG), 10, None
        ).items
    }
    printer, escalated = stories["label-printer"], stories["escalated-script"]
    assert printer.id is not None and escalated.id is not None
    agent = next(a for a in auth.list_agents(container.uow(), SYSTEM) if a.role is Role.AGENT)
    granted = grants.grant_on_case(
        container.uow(), agent.actor(), now, printer.id, ["upgrade-known-issue"]
    )
    asked = grants.grant_on_case(
        container.uow(),
        agent.actor(),
        now,
        escalated.id,
        ["refund-full", "shipping-credit", "store-credit"],
    )
    assert asked.approval is not None
    spare = auth.create_token(container.uow(), SYSTEM, now, name="spare", role=Role.VIEWER)
    # A policy change waiting for a second admin: raised by another admin than the one the
    # matrix's admin token speaks for, who may then confirm it.
    proposer = auth.create_agent(
        container.uow(),
        SYSTEM,
        container.hasher,
        now,
        email="second.admin@caredesk.example",
        name="Second Admin",
        role=Role.ADMIN,
        password=None,
    )
    looser = yaml.safe_load(policy.packaged_policy_text("default"))
    looser["version"] = "matrix-looser"
    looser["authority"]["agent"]["per_grant"] += 50
    proposal = policy.propose_policy(container.uow(), proposer.actor(), now, yaml.safe_dump(looser))
    assert proposal.change is not None and proposal.change.id is not None

    def first(path: str, field: str = "id") -> str:
        body = client.get(f"/api/v1/{path}", headers=admin).json()
        items = body["items"] if isinstance(body, dict) else body
        return str(items[0][field])

    return {
        "case_id": str(printer.id),
        "customer_id": printer.customer_id,
        "order_id": printer.order_ids[0],
        "product_id": first("products"),
        "grant_id": str(granted.grant.id),
        "approval_id": str(asked.approval.id),
        "change_id": str(proposal.change.id),
        # The demo's admin: another person than every token but the admin's.
        "agent_id": str(auth.find_agent(container.uow(), SYSTEM, ADMIN_EMAIL).id),
        "token_id": str(spare.token.id),
        "article_id": first("articles"),
        "ref": first("articles", "slug"),
        "key": demo.knowledge_data().known_issues[0].key,
        "name": "reply",
        "tool": "get_order_details",
        "measure": "cases_opened",
    }


def _request(operation: Any, ids: dict[str, str]) -> Any:
    """The simplest request the operation's schema accepts, on records that exist."""
    case = find(
        operation.as_strategy(),
        lambda _: True,
        settings=search_settings(
            database=None,
            # Hypothesis draws the simplest example first: it is the request shrinking would
            # end at (the same for every operation, the multipart boundary aside), found
            # without the shrinking that took three quarters of the generating time.
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        ),
    )
    for name in case.path_parameters or {}:
        # A tool's name is a tool's; every other {name} is a mail template's.
        chosen = "tool" if name == "name" and operation.path.startswith("/api/v1/tools") else name
        if chosen in ids:
            case.path_parameters[name] = ids[chosen]
    if operation.path == "/api/v1/auth/login":
        # Signing in is open to anyone: with the right password, whatever else is sent.
        case.body = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    return case


def _verdict(status: int) -> str | int:
    assert status < 500, status
    assert status != 429, "throttled: the matrix says nothing about a throttled caller"
    return status if status in (UNAUTHENTICATED, FORBIDDEN) else OK


# Who may call what does not depend on the database: one backend says it (whether a read
# writes, below, is checked on both).
@pytest.mark.one_backend
def test_every_caller_gets_the_answer_the_matrix_says(
    store: dict[str, str], callers: list[Caller], client: TestClient
) -> None:
    expected = _expected()
    wrong: list[str] = []
    for operation in _operations():
        key = f"{operation.method.upper()} {operation.path}"
        request = _request(operation, store)
        for caller in callers:
            kwargs = request.as_transport_kwargs(base_url="", headers=caller.headers)
            # Each call on its own: signing in leaves a session cookie in the client.
            client.cookies.clear()
            response = client.request(
                kwargs.pop("method"), kwargs.pop("url"), **_httpx_arguments(kwargs)
            )
            answer = _verdict(response.status_code)
            if answer != expected[key][caller.name]:
                wrong.append(
                    f"{key} as {caller.name}: {answer}, expected {expected[key][caller.name]}"
                )
    assert wrong == []


def _httpx_arguments(kwargs: dict[str, Any]) -> dict[str, Any]:
    """requests-style keyword arguments, as the test client (httpx) takes them."""
    out: dict[str, Any] = {"headers": kwargs.get("headers"), "params": kwargs.get("params")}
    if "json" in kwargs:
        out["json"] = kwargs["json"]
    elif "data" in kwargs:
        data = kwargs["data"]
        out["content" if isinstance(data, bytes | str) else "data"] = data
    if kwargs.get("files"):
        out["files"] = kwargs["files"]
    if kwargs.get("cookies"):
        out["cookies"] = kwargs["cookies"]
    return out


def test_reads_never_write(
    store: dict[str, str], callers: list[Caller], client: TestClient, container: Container
) -> None:
    """A GET takes no write lock and writes nothing, whoever calls: reads stay concurrent on
    SQLite's one writer, and a busy desk's reads cost no transaction log."""
    reading = [c for c in callers if c.name in ("agent", "admin", "customer_token")]
    for caller in reading:  # each token's first use is recorded before the reads are watched
        client.get("/api/v1/cases", headers=caller.headers)
    writing: list[str] = []
    for operation in _operations():
        if operation.method.upper() != "GET":
            continue
        request = _request(operation, store)
        for caller in reading:
            kwargs = request.as_transport_kwargs(base_url="", headers=caller.headers)
            client.cookies.clear()
            with statements_sent(container.uow.engine) as seen:
                client.request(kwargs.pop("method"), kwargs.pop("url"), **_httpx_arguments(kwargs))
            written = [] if _first_sight(operation.path, writes(seen)) else writes(seen)
            writing += [f"GET {operation.path} as {caller.name}: {s}" for s in written]
    assert writing == [], "\n".join(writing)


def _first_sight(path: str, written: list[str]) -> bool:
    """The one write a read of /api/v2 may make: giving customers and agents the Zendesk
    user ids the answer names them by, the first time any answer does (docs/zendesk.md,
    "User ids"), in a transaction of its own; once given, the same read writes nothing."""
    numbering = [s for s in written if s.startswith("INSERT INTO zendesk_users")]
    rest = [s for s in written if s not in numbering and s != "BEGIN IMMEDIATE"]
    return path.startswith("/api/v2/") and bool(numbering) and not rest
