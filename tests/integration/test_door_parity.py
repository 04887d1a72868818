"""One door per change: an operation ends in the same state whichever entry point it came by.

Each operation runs once per door that offers it, each time for a customer of its own whose
case the services first bring to the same point. Then the cases are compared, normalised
(ids, times, who acted and the channel the door records are left out): status and fields,
messages, SLA clocks, audit actions, webhook events, grants, approvals and ledger entries.

| operation                     | api | console | portal | mail | tools | cli |
|-------------------------------|-----|---------|--------|------|-------|-----|
| open a case                   |  x  |    -    |   x    |  x   |   -   |  x  |
| customer reply                |  x  |    -    |   x    |  x   |   -   |  x  |
| agent reply and solve         |  x  |    x    |   -    |  -   |   -   |  -  |
| grant within authority        |  x  |    x    |   -    |  -   |   x   |  -  |
| grant above authority         |  x  |    x    |   -    |  -   |   x   |  -  |
| approval                      |  x  |    x    |   -    |  -   |   -   |  -  |
| reopen by the customer        |  x  |    -    |   x    |  x   |   -   |  x  |
| reopen by an agent            |  x  |    x    |   -    |  -   |   -   |  -  |

Why a door cannot do an operation is written next to it in OPERATIONS.
"""

from __future__ import annotations

import mailbox
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from caredesk.bootstrap import Container
from caredesk.cli.main import app as cli
from caredesk.domain.agents import SYSTEM, Actor, Role
from caredesk.domain.cases import CaseStatus, Channel, MessageKind
from caredesk.services.access import auth
from caredesk.services.cases import cases
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.channels import webhooks
from caredesk.services.channels.portal import MemoryOutbox
from caredesk.services.engine import grants
from caredesk.services.sla import sla
from caredesk.web.app import create_app
from tests import factories
from tests.conftest import ManualClock
from tests.integration.test_mail_in import build
from tests.resolvers import MapResolver

PASSWORD = "door-parity-password"
SUBJECT = "The lamp arrived broken"
OPENING = "The lamp I ordered arrived with a cracked shade."
CUSTOMER_REPLY = "Any news on my lamp?"
AGENT_REPLY = "Sorry about the shade: a new lamp is on its way to you."
DOORS = ("api", "console", "portal", "mail", "tools", "cli")
LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')
LINK = re.compile(r"http://testserver(/portal/sign-in/[A-Za-z0-9_\-]+)")


@pytest.fixture
def clock() -> ManualClock:
    # The CLI builds its own desk on the wall clock: the test's clock runs just behind it, so
    # every door acts after the case was prepared, and none past an SLA target.
    return ManualClock(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1))


@dataclass
class Run:
    """One operation through one door, for a customer of its own."""

    door: str
    customer_id: str
    email: str
    order_id: str
    card: str
    case_id: int = 0
    approval_id: int = 0


@dataclass
class Desk:
    """The desk every door leads to, and what each door needs to be used."""

    container: Container
    clock: ManualClock
    app: FastAPI
    api: TestClient
    outbox: MemoryOutbox
    tmp: Path
    agent: Actor
    headers: dict[str, dict[str, str]]
    consoles: dict[Role, TestClient] = field(default_factory=dict)

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def console(self, role: Role) -> TestClient:
        """The console signed in as the agent (or the lead), once."""
        if role not in self.consoles:
            client = TestClient(self.app, follow_redirects=False)
            page = client.get("/login")
            token = LOGIN_CSRF.search(page.text)
            assert token is not None
            email = "agent@door.example" if role is Role.AGENT else "lead@door.example"
            signed_in = client.post(
                "/login",
                data={"email": email, "password": PASSWORD, "login_csrf": token.group(1)},
            )
            assert signed_in.status_code == 303, signed_in.text
            self.consoles[role] = client
        return self.consoles[role]

    def case_form(self, client: TestClient, case_id: int) -> dict[str, str]:
        page = client.get(f"/cases/{case_id}")
        assert page.status_code == 200, page.text
        csrf, version = CSRF.search(page.text), VERSION.search(page.text)
        assert csrf is not None and version is not None
        return {"csrf_token": csrf.group(1), "version": version.group(1)}

    def portal(self, run: Run) -> tuple[TestClient, str]:
        """The portal signed in as the run's customer, and its forms' CSRF token."""
        client = TestClient(self.app, follow_redirects=False)
        client.post("/portal/sign-in", data={"email": run.email})
        mail = self.outbox.last_to(run.email)
        assert mail is not None
        link = LINK.fullmatch(mail.link)
        assert link is not None
        page = client.get(link.group(1))
        token = LOGIN_CSRF.search(page.text)
        assert token is not None
        assert client.post(link.group(1), data={"login_csrf": token.group(1)}).status_code == 303
        csrf = CSRF.search(client.get("/portal").text)
        assert csrf is not None
        return client, csrf.group(1)

    def mail(self, run: Run, body: str, *, reply: bool = False) -> bytes:
        subject = f"Re: {SUBJECT} [#{run.case_id}]" if reply else SUBJECT
        return build(
            sender=f"Pat Door <{run.email}>",
            subject=subject,
            body=body,
            message_id=f"<{uuid.uuid4().hex}@mail.door.example>",
        )

    def import_mbox(self, raw: bytes) -> None:
        path = self.tmp / f"{uuid.uuid4().hex}.mbox"
        box = mailbox.mbox(path)
        box.add(raw)
        box.close()
        done = CliRunner().invoke(cli, ["import", "mbox", str(path)])
        assert done.exit_code == 0, done.output


# --- what each door sends ------------------------------------------------------------------


def _case_of(response: Any, field: str = "case_id") -> int:
    assert response.status_code in (201, 202), response.text
    case_id: int = response.json()[field]
    return case_id


def api_open(desk: Desk, run: Run) -> None:
    run.case_id = _case_of(
        desk.api.post(
            "/api/v1/cases",
            json={"customer_id": run.customer_id, "subject": SUBJECT, "body": OPENING},
            headers=desk.headers["agent"],
        ),
        "id",
    )


def portal_open(desk: Desk, run: Run) -> None:
    client, csrf = desk.portal(run)
    done = client.post(
        "/portal/cases", data={"csrf_token": csrf, "subject": SUBJECT, "body": OPENING}
    )
    assert done.status_code == 303, done.text
    run.case_id = int(done.headers["location"].split("/")[3].split("?")[0])


def mail_open(desk: Desk, run: Run) -> None:
    run.case_id = _case_of(
        desk.api.post(
            "/api/v1/inbound/email",
            content=desk.mail(run, OPENING),
            headers={**desk.headers["admin"], "Content-Type": "message/rfc822"},
        )
    )


def cli_open(desk: Desk, run: Run) -> None:
    """`caredesk import mbox`: the CLI files a customer's mail through the mail door."""
    desk.import_mbox(desk.mail(run, OPENING))
    with desk.container.uow() as uow:
        [case] = uow.cases.find(CaseFilter(customer_id=run.customer_id), 5, None).items
    assert case.id is not None
    run.case_id = case.id


def api_customer_writes(desk: Desk, run: Run) -> None:
    written = desk.api.post(
        f"/api/v1/cases/{run.case_id}/messages",
        json={"kind": "inbound", "body": CUSTOMER_REPLY},
        headers=desk.headers["agent"],
    )
    assert _case_of(written) == run.case_id


def portal_customer_writes(desk: Desk, run: Run) -> None:
    client, csrf = desk.portal(run)
    done = client.post(
        f"/portal/cases/{run.case_id}/reply", data={"csrf_token": csrf, "body": CUSTOMER_REPLY}
    )
    assert done.status_code == 303, done.text


def mail_customer_writes(desk: Desk, run: Run) -> None:
    filed = desk.api.post(
        "/api/v1/inbound/email",
        content=desk.mail(run, CUSTOMER_REPLY, reply=True),
        headers={**desk.headers["admin"], "Content-Type": "message/rfc822"},
    )
    assert _case_of(filed) == run.case_id


def cli_customer_writes(desk: Desk, run: Run) -> None:
    desk.import_mbox(desk.mail(run, CUSTOMER_REPLY, reply=True))


def api_reply_and_solve(desk: Desk, run: Run) -> None:
    url = f"/api/v1/cases/{run.case_id}"
    replied = desk.api.post(
        f"{url}/messages", json={"kind": "outbound", "body": AGENT_REPLY},
        headers=desk.headers["agent"],
    )  # fmt: skip
    assert replied.status_code == 201, replied.text
    solved = desk.api.post(
        f"{url}/status", json={"status": "solved"}, headers=desk.headers["agent"]
    )
    assert solved.status_code == 200, solved.text


def console_reply_and_solve(desk: Desk, run: Run) -> None:
    client = desk.console(Role.AGENT)
    form = desk.case_form(client, run.case_id)
    done = client.post(
        f"/cases/{run.case_id}/reply",
        data={**form, "body": AGENT_REPLY, "kind": "reply", "solve": "1"},
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"].endswith("notice=sent_solved")


def _api_grant(remedy: str, answer: int) -> Callable[[Desk, Run], None]:
    def grant(desk: Desk, run: Run) -> None:
        done = desk.api.post(
            f"/api/v1/cases/{run.case_id}/grants",
            json={"remedies": [remedy]},
            headers=desk.headers["agent"],
        )
        assert done.status_code == answer, done.text

    return grant


def _console_grant(remedy: str, notice: str) -> Callable[[Desk, Run], None]:
    def grant(desk: Desk, run: Run) -> None:
        client = desk.console(Role.AGENT)
        form = desk.case_form(client, run.case_id)
        done = client.post(
            f"/cases/{run.case_id}/grant",
            data={
                "csrf_token": form["csrf_token"],
                "remedies": remedy,
                "idempotency_key": uuid.uuid4().hex,
                # Told at once, as the other doors do; the console's default, telling it in
                # the agent's next reply, is tests/integration/test_case_page.py's.
                "tell_now": "1",
            },
        )
        assert done.status_code == 303, done.text
        assert done.headers["location"].endswith(f"notice={notice}")

    return grant


def _tools_grant(remedy: str, status: str) -> Callable[[Desk, Run], None]:
    def grant(desk: Desk, run: Run) -> None:
        token = auth.create_token(
            desk.container.uow(), SYSTEM, desk.now, name=f"bot-{run.door}", role=Role.AGENT,
            agent_id=desk.agent.agent_id, customer_id=run.customer_id,
        )  # fmt: skip
        done = desk.api.post(
            "/api/v1/tools/grant_offer",
            json={"arguments": {"case_id": run.case_id, "remedies": [remedy]}, "confirmed": True},
            headers={"Authorization": f"Bearer {token.secret}"},
        )
        assert done.status_code == 200, done.text
        assert done.json()["status"] == status, done.text

    return grant


def api_approve(desk: Desk, run: Run) -> None:
    done = desk.api.post(
        f"/api/v1/approvals/{run.approval_id}/approve", json={}, headers=desk.headers["lead"]
    )
    assert done.status_code == 200, done.text


def console_approve(desk: Desk, run: Run) -> None:
    client = desk.console(Role.LEAD)
    page = client.get("/approvals")
    csrf = CSRF.search(page.text)
    assert csrf is not None
    done = client.post(
        f"/approvals/{run.approval_id}/decide",
        data={"csrf_token": csrf.group(1), "decision": "approve"},
    )
    assert done.status_code == 303, done.text


def api_reopen(desk: Desk, run: Run) -> None:
    done = desk.api.post(
        f"/api/v1/cases/{run.case_id}/status", json={"status": "open"},
        headers=desk.headers["agent"],
    )  # fmt: skip
    assert done.status_code == 200, done.text


def console_reopen(desk: Desk, run: Run) -> None:
    client = desk.console(Role.AGENT)
    page = client.get(f"/cases/{run.case_id}").text
    shown = {
        name: re.search(rf'name="shown_{name}" value="([^"]*)"', page) for name in
        ("status", "priority", "assignee", "team", "tags")
    }  # fmt: skip
    fields = {k: v.group(1) for k, v in shown.items() if v is not None}
    assert fields["status"] == "solved"
    form = desk.case_form(client, run.case_id)
    done = client.post(
        f"/cases/{run.case_id}/fields",
        data={
            "csrf_token": form["csrf_token"], "version": form["version"],
            **{f"shown_{k}": v for k, v in fields.items()}, **fields, "status": "open",
        },
    )  # fmt: skip
    assert done.status_code == 303, done.text


# --- where each operation starts ----------------------------------------------------------


def nothing_yet(desk: Desk, run: Run) -> None:
    """The customer has not written yet."""


def an_open_case(desk: Desk, run: Run) -> None:
    """The customer wrote by email about a damaged parcel of their order."""
    view = cases.create_case(
        desk.container.uow(), SYSTEM, desk.now, customer_id=run.customer_id, subject=SUBJECT,
        body=OPENING, channel=Channel.EMAIL, order_ids=[run.order_id],
        custom_fields={"issue_type": "damaged"},
    )  # fmt: skip
    assert view.case.id is not None
    run.case_id = view.case.id


def answered_and_waiting(desk: Desk, run: Run) -> None:
    an_open_case(desk, run)
    _agent_answers(desk, run, then=CaseStatus.PENDING)


def answered_and_solved(desk: Desk, run: Run) -> None:
    an_open_case(desk, run)
    _agent_answers(desk, run, then=CaseStatus.SOLVED)


def _agent_answers(desk: Desk, run: Run, *, then: CaseStatus) -> None:
    cases.add_message(
        desk.container.uow(), desk.agent, desk.now, run.case_id,
        kind=MessageKind.OUTBOUND, body=AGENT_REPLY, then_status=then,
    )  # fmt: skip


def a_grant_awaiting_approval(desk: Desk, run: Run) -> None:
    an_open_case(desk, run)
    asked = grants.grant_on_case(
        desk.container.uow(), desk.agent, desk.now, run.case_id, ["refund-full"]
    )
    assert asked.approval is not None and asked.approval.id is not None
    run.approval_id = asked.approval.id


# --- the matrix ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    name: str
    start: Callable[[Desk, Run], None]
    doors: dict[str, Callable[[Desk, Run], None]]
    cannot: dict[str, str]


NO_CASE_FORM = "the console works cases that exist; it has no form to open one"
NO_CASE_TOOL = "no tool opens, answers or moves a case: the tools act on orders and grants"
AGENTS_ONLY = "only agents answer, solve and grant on a case"
NO_CLI = "no CLI command does this"
CUSTOMERS_ONLY = "the console records no customer messages: those come by mail, portal or API"
PORTAL_ORDERS = "the portal's self-service remedies act on an order, not on a case"

OPERATIONS = [
    Operation(
        "open a case",
        nothing_yet,
        {"api": api_open, "portal": portal_open, "mail": mail_open, "cli": cli_open},
        {"console": NO_CASE_FORM, "tools": NO_CASE_TOOL},
    ),
    Operation(
        "customer reply",
        answered_and_waiting,
        {
            "api": api_customer_writes,
            "portal": portal_customer_writes,
            "mail": mail_customer_writes,
            "cli": cli_customer_writes,
        },
        {"console": CUSTOMERS_ONLY, "tools": NO_CASE_TOOL},
    ),
    Operation(
        "agent reply and solve",
        an_open_case,
        {"api": api_reply_and_solve, "console": console_reply_and_solve},
        {"portal": AGENTS_ONLY, "mail": AGENTS_ONLY, "tools": NO_CASE_TOOL, "cli": NO_CLI},
    ),
    Operation(
        "grant within authority",
        an_open_case,
        {
            "api": _api_grant("store-credit", 201),
            "console": _console_grant("store-credit", "granted"),
            "tools": _tools_grant("store-credit", "done"),
        },
        {"portal": PORTAL_ORDERS, "mail": AGENTS_ONLY, "cli": NO_CLI},
    ),
    Operation(
        "grant above authority",
        an_open_case,
        {
            "api": _api_grant("refund-full", 202),
            "console": _console_grant("refund-full", "approval_requested"),
            "tools": _tools_grant("refund-full", "refused"),
        },
        {"portal": PORTAL_ORDERS, "mail": AGENTS_ONLY, "cli": NO_CLI},
    ),
    Operation(
        "approval",
        a_grant_awaiting_approval,
        {"api": api_approve, "console": console_approve},
        {
            "portal": "a lead approves, not a customer",
            "mail": "a lead approves, not a customer",
            "tools": "no tool decides an approval: an AI agent's grant waits for a lead",
            "cli": NO_CLI,
        },
    ),
    Operation(
        "reopen by the customer",
        answered_and_solved,
        {
            "api": api_customer_writes,
            "portal": portal_customer_writes,
            "mail": mail_customer_writes,
            "cli": cli_customer_writes,
        },
        {"console": CUSTOMERS_ONLY, "tools": NO_CASE_TOOL},
    ),
    Operation(
        "reopen by an agent",
        answered_and_solved,
        {"api": api_reopen, "console": console_reopen},
        {"portal": AGENTS_ONLY, "mail": AGENTS_ONLY, "tools": NO_CASE_TOOL, "cli": NO_CLI},
    ),
]


# --- the state compared --------------------------------------------------------------------


def _is_acknowledgement(action: str, after: dict[str, Any] | None) -> bool:
    # A new case by mail is acknowledged by mail; the other doors show it on the page itself.
    return action == "mail.queued" and (after or {}).get("template") == "acknowledgement"


def state(desk: Desk, run: Run) -> dict[str, Any]:
    """What the operation left, without ids, times, actors or the door's channel."""

    def plain(text: str) -> str:
        mine = ((run.order_id, "<order>"), (run.card, "<card>"), (run.customer_id, "<customer>"))
        for own, alike in mine:
            text = text.replace(own, alike)
        return text

    with desk.container.uow() as uow:
        case = uow.cases.get(run.case_id)
        assert case is not None
        messages = [
            (m.kind.value, m.body.strip(), len(m.attachments))
            for m in uow.cases.messages(run.case_id)
        ]
        clocks = sorted(
            (
                c.metric.value, c.cycle, c.completed_at is not None,
                c.running_since is not None, c.target_minutes, c.breached_at is not None,
            )
            for c in uow.sla.clocks(run.case_id)
        )  # fmt: skip
        audit = [
            e.action
            for e in uow.audit.for_case(run.case_id)
            if not _is_acknowledgement(e.action, e.after)
        ]
        [subscription] = uow.webhooks.subscriptions()
        assert subscription.id is not None
        hooks = [
            d.event
            for d in uow.webhooks.deliveries(subscription.id, 1000, None)
            if d.payload.get("case_id") == run.case_id
            and not _is_acknowledgement(d.event, d.payload.get("after"))
        ]
        granted = []
        for grant in uow.grants.for_case(run.case_id):
            assert grant.id is not None
            ledger = sorted(
                (plain(e.account), e.amount, plain(e.memo)) for e in uow.ledger.for_grant(grant.id)
            )
            granted.append(
                (grant.remedy_ids, grant.status.value, grant.cost, grant.refunded,
                 grant.service_level, ledger)
            )  # fmt: skip
        approvals = [
            (a.status.value, a.approver_role)
            for a in uow.approvals.find(None, 1000)
            if a.case_id == run.case_id
        ]
    return {
        "status": case.status.value,
        "priority": case.priority.value,
        "tags": case.tags,
        "custom_fields": case.custom_fields,
        "order_ids": [plain(o) for o in case.order_ids],
        "service_level": case.service_level,
        "messages": messages,
        "sla_clocks": clocks,
        # Sorted: a door that does in one transaction what another does in two (reply and
        # solve) writes the same lines, the handlers' own after the case's.
        "audit": sorted(audit),
        "webhooks": sorted(hooks),
        "grants": granted,
        "approvals": approvals,
    }


# --- the desk and the test -----------------------------------------------------------------


@pytest.fixture
def desk(
    container: Container, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Desk]:
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("CAREDESK_SEMANTIC_SEARCH", "false")
    now = container.clock.now()
    ids = {}
    for email, role in (("agent@door.example", Role.AGENT), ("lead@door.example", Role.LEAD)):
        made = auth.create_agent(
            container.uow(), SYSTEM, container.hasher, now,
            email=email, name=role.value.title(), role=role, password=PASSWORD,
        )  # fmt: skip
        assert made.id is not None
        ids[role] = made.id
    sla.create_policy(
        container.uow(), SYSTEM, now, name="Everyone",
        targets={"first_reply": 60, "next_reply": 120, "resolution": 480},
    )  # fmt: skip
    webhooks.create_subscription(
        container.uow(), SYSTEM, now, url="https://hooks.example.com/desk", events=["*"],
        outbound=webhooks.Outbound(
            MapResolver({"hooks.example.com": ["192.0.2.10"]}), (IPv4Network("192.0.2.0/24"),)
        ),
    )  # fmt: skip
    factories.store(
        container,
        factories.product(
            "lamp",
            "Desk lamp",
            factories.variant("lamp-w", "lamp", "250.00", "90.00", colour="white"),
        ),
    )
    headers = {
        name: {
            "Authorization": "Bearer "
            + auth.create_token(
                container.uow(), SYSTEM, now, name=name, role=role, agent_id=ids.get(role)
            ).secret
        }
        for name, role in (("agent", Role.AGENT), ("lead", Role.LEAD), ("admin", Role.ADMIN))
    }
    app = create_app(container=container)
    outbox = MemoryOutbox()
    app.state.portal_mailer = outbox
    with TestClient(app) as api:
        yield Desk(
            container, clock, app, api, outbox, tmp_path,
            Actor(role=Role.AGENT, agent_id=ids[Role.AGENT]), headers,
        )  # fmt: skip


def customer_for(desk: Desk, door: str) -> Run:
    """A customer of the run's own, alike in all but name: a delivered lamp, paid by card."""
    now = desk.now
    run = Run(door, f"door-{door}", f"pat.{door}@example.com", f"#D-{door}", f"card-{door}")
    factories.store(
        desk.container,
        factories.customer(
            run.customer_id,
            now,
            first_name="Pat",
            last_name="Door",
            email=run.email,
            card=run.card,
            customer_for=timedelta(days=400),
        ),
        factories.order(
            run.order_id,
            run.customer_id,
            now,
            factories.line("lamp-w", "lamp", "Desk lamp", "250.00"),
            address=factories.ELM_STREET,
            paid_by=[(run.card, Decimal("250.00"))],
            paid_at=now,
            delivered=timedelta(days=2),
            placed=timedelta(days=6),
        ),
    )
    return run


@pytest.mark.parametrize("operation", OPERATIONS, ids=[o.name for o in OPERATIONS])
def test_every_door_ends_in_the_same_state(desk: Desk, operation: Operation) -> None:
    assert sorted([*operation.doors, *operation.cannot]) == sorted(DOORS), "a door is missing"
    assert len(operation.doors) >= 2
    seen: dict[str, dict[str, Any]] = {}
    for door, through in operation.doors.items():
        run = customer_for(desk, door)
        operation.start(desk, run)
        desk.clock.advance(minutes=5)
        through(desk, run)
        seen[door] = state(desk, run)
    first, *others = seen
    for door in others:
        assert seen[door] == seen[first], f"{operation.name}: {door} differs from {first}"
