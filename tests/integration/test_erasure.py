"""Erasing a customer on a real database: nothing of the person is left in any table (nor,
on SQLite, in the database's files), while the books, order totals and audit facts stay."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, text
from typer.testing import CliRunner

from caredesk.adapters.mail.parse import parse_mail
from caredesk.bootstrap import Container
from caredesk.cli.main import app as cli
from caredesk.domain.agents import SYSTEM, Role
from caredesk.domain.cases import CaseStatus, Channel
from caredesk.domain.customers import Address
from caredesk.domain.orders import (
    Order,
    OrderLine,
    OrderStatus,
    PaymentTransaction,
    Shipment,
    TransactionType,
)
from caredesk.services.access import auth
from caredesk.services.cases import cases
from caredesk.services.cases.cases import NewAttachment
from caredesk.services.channels import webhooks
from caredesk.services.channels.mail_in import receive_mail
from caredesk.services.channels.portal import MemoryOutbox
from caredesk.services.channels.webhooks import Outbound
from caredesk.services.engine import grants
from caredesk.web.app import create_app
from tests.integration.conftest import Headers
from tests.integration.money_store import add_agent, load_policy, with_typed_credit
from tests.integration.own_database import database_url, migrated_engine  # noqa: F401
from tests.resolvers import MapResolver

FIRST, LAST = "Zebediah", "Quillfeather"
EMAIL = "zeb.quillfeather@mailhost.example"
PHONE = "+1 555 0142 8876"
STREET = "77 Marrowbone Lane"
PHRASE = "periwinkle gramophone"
ATTACHED = b"Receipt for the periwinkle gramophone, paid by Zebediah Quillfeather."
# What must be gone afterwards, anywhere, in any letter case.
NEEDLES = [FIRST, LAST, EMAIL, PHONE, "Marrowbone", PHRASE]

PERSON = {
    "id": "zeb",
    "first_name": FIRST,
    "last_name": LAST,
    "emails": [EMAIL],
    "phones": [PHONE],
    "addresses": [{"address1": STREET, "city": "Bristol", "country": "UK"}],
    "tier": "gold",
}
OTHER = {
    "id": "olive",
    "first_name": "Olive",
    "last_name": "Other",
    "emails": ["olive@example.com"],
    "tier": "standard",
}
SUPPORT = "support@caredesk.example"
LINK = re.compile(r"http://testserver(/portal/sign-in/[A-Za-z0-9_\-]+)")
LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')


@dataclass
class Desk:
    container: Container
    client: TestClient
    outbox: MemoryOutbox
    admin: Headers
    bound_token: Headers
    case_ids: list[int]
    other_case: int
    unused_link: str


def _order(order_id: str, customer_id: str, total: str, street: str) -> Order:
    return Order(
        id=order_id,
        customer_id=customer_id,
        status=OrderStatus.DELIVERED,
        address=Address(street, city="Bristol", country="UK"),
        lines=[OrderLine("gramophone-1", "gramophone", "Gramophone", Decimal(total))],
        payments=[PaymentTransaction(TransactionType.PAYMENT, Decimal(total), "card_zeb")],
        shipments=[Shipment(["1ZTRACK"], ["gramophone-1"])],
    )


def _mail(body: str, subject: str) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = f"{FIRST} {LAST} <{EMAIL}>"
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mailhost.example")
    message.set_content(body)
    message.add_attachment(
        ATTACHED, maintype="application", subtype="pdf", filename="quillfeather-receipt.pdf"
    )
    return message.as_bytes()


def _sign_in_link(client: TestClient, outbox: MemoryOutbox) -> str:
    assert client.post("/portal/sign-in", data={"email": EMAIL}).status_code == 200
    mail = outbox.last_to(EMAIL)
    assert mail is not None
    found = LINK.fullmatch(mail.link)
    assert found is not None
    return found.group(1)


def _follow(client: TestClient, path: str) -> Any:
    page = client.get(path)
    if page.status_code != 200:
        return page
    token = LOGIN_CSRF.search(page.text)
    assert token is not None
    return client.post(path, data={"login_csrf": token.group(1)}, follow_redirects=False)


@pytest.fixture
def desk(container: Container) -> Iterator[Desk]:
    """A customer with everything the desk can hold about a person."""
    app = create_app(container=container)
    outbox = MemoryOutbox()
    app.state.portal_mailer = outbox
    now = container.clock.now()
    with TestClient(app) as client:
        admin_token = auth.create_token(container.uow(), SYSTEM, now, name="a", role=Role.ADMIN)
        admin = {"Authorization": f"Bearer {admin_token.secret}"}
        webhooks.create_subscription(
            container.uow(),
            SYSTEM,
            now,
            url="https://hooks.example/desk",
            events=["*"],
            outbound=Outbound(MapResolver({"hooks.example": ["93.184.216.34"]})),
        )
        load_policy(container, "erasure", remedies=with_typed_credit())
        # Created through the API with an idempotency key: the stored answer quotes them.
        for person in (PERSON, OTHER):
            created = client.post(
                "/api/v1/customers",
                json=person,
                headers={**admin, "Idempotency-Key": f"create-{person['id']}"},
            )
            assert created.status_code == 201, created.text
        with container.uow() as uow:
            uow.orders.add(_order("#Z1", "zeb", "120.00", STREET))
            uow.orders.add(_order("#O1", "olive", "40.00", "2 Elm Row"))
            uow.commit()
        agent = add_agent(container, "ana@desk.example", Role.AGENT)
        view = cases.create_case(
            container.uow(),
            agent,
            now,
            customer_id="zeb",
            subject=f"{FIRST}'s gramophone is broken",
            body=f"My {PHRASE} arrived cracked. Call me on {PHONE}, {STREET}.",
            order_ids=["#Z1"],
            custom_fields={"issue_type": "damaged"},
            attachments=[NewAttachment("gramophone.jpg", "image/jpeg", ATTACHED + b" photo")],
        )
        case_id = view.case.id
        assert case_id is not None
        outcome = grants.grant_on_case(
            container.uow(),
            agent,
            now,
            case_id,
            ["typed-credit"],
            params={"typed-credit": {"amount": "15.00"}},
        )
        assert outcome.grant.id is not None
        cases.change_status(container.uow(), agent, now, case_id, CaseStatus.SOLVED)
        result = receive_mail(
            container.uow(),
            _mail(f"Also the {PHRASE} horn fell off. {FIRST}", "Another gramophone problem"),
            now=now,
            config=container.mail,
            parser=parse_mail,
        )
        assert result.case_id is not None and result.case_id != case_id
        other = cases.create_case(
            container.uow(), agent, now, customer_id="olive", subject="Olive's kettle",
            body="My kettle whistles.", channel=Channel.API,
        )  # fmt: skip
        assert other.case.id is not None
        # A portal session (signed in) and a sign-in link not used yet.
        assert _follow(client, _sign_in_link(client, outbox)).status_code == 303
        assert client.get("/portal", follow_redirects=False).status_code == 200
        unused = _sign_in_link(client, outbox)
        bound = auth.create_token(
            container.uow(), SYSTEM, now, name="zeb's bot", role=Role.AGENT, customer_id="zeb"
        )
        bound_headers = {"Authorization": f"Bearer {bound.secret}"}
        assert client.get("/api/v1/tools", headers=bound_headers).status_code == 200
        yield Desk(
            container=container,
            client=client,
            outbox=outbox,
            admin=admin,
            bound_token=bound_headers,
            case_ids=[case_id, result.case_id],
            other_case=other.case.id,
            unused_link=unused,
        )


def _every_value(engine: Engine) -> Iterator[tuple[str, str, Any]]:
    """Every value of every column of every table the database holds (found by reflection,
    so a table added later is searched too)."""
    names = inspect(engine).get_table_names()
    with engine.connect() as conn:
        for name in names:
            result = conn.execute(text(f'SELECT * FROM "{name}"'))
            columns = list(result.keys())
            for row in result:
                for column, value in zip(columns, row, strict=True):
                    yield name, column, value


def _found(engine: Engine, needles: list[str]) -> list[tuple[str, str, str]]:
    wanted = [n.lower() for n in needles]
    found = []
    for table, column, value in _every_value(engine):
        if value is None:
            continue
        if isinstance(value, bytes | bytearray | memoryview):
            haystack = bytes(value).decode("utf-8", "replace").lower()
        else:
            haystack = str(value).lower()
        found.extend((table, column, n) for n in wanted if n in haystack)
    return found


def _ledger(engine: Engine) -> dict[str, Decimal]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT account, SUM(amount) FROM ledger_entries GROUP BY account")
        ).all()
    return {account: Decimal(str(total)) for account, total in rows}


def _facts(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT id, at, actor, action, entity_type, entity_id, case_id "
                    "FROM audit_events ORDER BY id"
                )
            )
        ]


def _orders(container: Container) -> dict[str, tuple[Any, ...]]:
    with container.uow() as uow:
        found = {}
        for order_id in ("#Z1", "#O1"):
            order = uow.orders.get(order_id)
            assert order is not None
            found[order_id] = (
                order.status,
                [(line.variant_id, line.price) for line in order.lines],
                [(p.transaction_type, p.amount, p.payment_method_id) for p in order.payments],
            )
        return found


def test_the_desk_holds_the_person_everywhere_before(desk: Desk) -> None:
    """The fixture is worth its name: each needle is there to be erased."""
    found = {(t, n) for t, _, n in _found(desk.container.engine, NEEDLES)}
    tables = {t for t, _ in found}
    for table in (
        "customers",
        "customer_emails",
        "messages",
        "cases",
        "mail_messages",
        "blobs",
        "orders",
        "audit_events",
        "webhook_deliveries",
        "search_entries",
        "idempotency_keys",
    ):
        assert table in tables, table
    assert {n for _, n in found} == {n.lower() for n in NEEDLES}


def test_erasure_leaves_nothing_of_the_person_and_keeps_the_books(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    container, client = desk.container, desk.client
    engine = container.engine
    ledger, facts, orders = _ledger(engine), _facts(engine), _orders(container)
    assert ledger and sum(ledger.values()) == 0

    response = client.delete("/api/v1/customers/zeb?erase=true", headers=desk.admin)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customer_id"] == "zeb" and body["already_erased"] is False
    counts = body["counts"]
    assert counts["cases"] == 2 and counts["tokens_revoked"] == 1
    assert counts["portal_sessions"] == 1 and counts["portal_sign_ins"] == 2
    assert counts["raw_mail"] >= 1 and counts["attachments"] == 2
    assert _found(engine, NEEDLES) == []
    # The files were compacted after the commit (checkpoint or VACUUM), without complaint.
    assert not [r for r in caplog.records if r.name == "caredesk.erasure"]
    # The books balance as before, the orders are the same, each audit fact is still there.
    assert _ledger(engine) == ledger
    assert _orders(container) == orders
    after = _facts(engine)
    assert after[: len(facts)] == facts
    assert [(f[3], f[5]) for f in after[len(facts) :]] == [("customer.erased", "zeb")]
    # The record stays, under its tombstone.
    shown = client.get("/api/v1/customers/zeb", headers=desk.admin).json()
    assert shown["first_name"] == "Erased customer"
    assert shown["last_name"].startswith("#")
    assert shown["emails"] == [f"erased-{shown['last_name'][1:]}@invalid"]
    assert shown["phones"] == [] and shown["addresses"] == []
    subject = client.get(f"/api/v1/cases/{desk.case_ids[0]}", headers=desk.admin).json()
    assert subject["subject"] == "[erased]"
    # Another customer is left alone.
    olive = client.get(f"/api/v1/cases/{desk.other_case}", headers=desk.admin).json()
    assert olive["subject"] == "Olive's kettle"


def test_an_erased_customer_can_no_longer_sign_in_and_their_token_is_revoked(
    desk: Desk,
) -> None:
    client = desk.client
    assert client.delete("/api/v1/customers/zeb?erase=true", headers=desk.admin).is_success
    assert client.get("/portal", follow_redirects=False).status_code == 303
    assert _follow(client, desk.unused_link).status_code in (401, 410)
    refused = client.get("/api/v1/tools", headers=desk.bound_token)
    assert refused.status_code == 401
    assert refused.json()["code"] == "token_revoked"
    # The old address asks for a link in vain: no mail goes out.
    sent = len(desk.outbox.sent)
    assert client.post("/portal/sign-in", data={"email": EMAIL}).status_code == 200
    assert len(desk.outbox.sent) == sent


def test_a_second_erasure_is_a_clear_no_op(desk: Desk) -> None:
    client = desk.client
    first = client.delete("/api/v1/customers/zeb?erase=true", headers=desk.admin).json()
    facts = _facts(desk.container.engine)
    again = client.delete("/api/v1/customers/zeb?erase=true", headers=desk.admin)
    assert again.status_code == 200
    assert again.json()["already_erased"] is True
    assert again.json()["erased_at"] == first["erased_at"]
    assert _facts(desk.container.engine) == facts


@pytest.mark.parametrize("role", [Role.VIEWER, Role.AGENT, Role.LEAD])
def test_only_an_admin_may_erase_and_a_refusal_changes_nothing(desk: Desk, role: Role) -> None:
    issued = auth.create_token(
        desk.container.uow(), SYSTEM, desk.container.clock.now(), name="x", role=role
    )
    before = _found(desk.container.engine, NEEDLES)
    response = desk.client.delete(
        "/api/v1/customers/zeb?erase=true", headers={"Authorization": f"Bearer {issued.secret}"}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert _found(desk.container.engine, NEEDLES) == before


def test_erasing_an_unknown_customer_is_not_found(client: TestClient, admin: Headers) -> None:
    response = client.delete("/api/v1/customers/nobody?erase=true", headers=admin)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_without_erase_a_customer_with_history_is_still_refused(desk: Desk) -> None:
    response = desk.client.delete("/api/v1/customers/zeb", headers=desk.admin)
    assert response.status_code == 409
    assert _found(desk.container.engine, [EMAIL])


def test_the_sqlite_files_keep_no_bytes_of_the_person(desk: Desk) -> None:
    engine = desk.container.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("the file check reads SQLite's own files")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    assert desk.client.delete("/api/v1/customers/zeb?erase=true", headers=desk.admin).is_success
    database = Path(str(engine.url.database))
    for path in (database, database.with_name(database.name + "-wal")):
        if not path.exists():
            continue
        content = path.read_bytes().lower()
        for needle in NEEDLES:
            assert needle.lower().encode() not in content, (path.name, needle)


def test_the_command_line_asks_first_and_erases_with_yes(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREDESK_DATABASE_URL", desk.container.settings.database_url)
    monkeypatch.setenv("CAREDESK_SEMANTIC_SEARCH", "false")
    runner = CliRunner()
    unasked = runner.invoke(cli, ["customers", "erase", "zeb"])
    assert unasked.exit_code != 0
    assert _found(desk.container.engine, [EMAIL])
    declined = runner.invoke(cli, ["customers", "erase", "zeb"], input="n\n")
    assert declined.exit_code != 0
    unknown = runner.invoke(cli, ["customers", "erase", "nobody", "--yes"])
    assert unknown.exit_code == 1
    assert "not_found" in unknown.output
    erased = runner.invoke(cli, ["customers", "erase", "zeb", "--yes"])
    assert erased.exit_code == 0, erased.output
    assert "erased" in erased.output
    assert _found(desk.container.engine, NEEDLES) == []
    again = runner.invoke(cli, ["customers", "erase", "zeb", "--yes"])
    assert again.exit_code == 0
    assert "erased already" in again.output
