"""Public names the glossary retired keep working for the clients written against them: each
is answered or accepted beside its new name, and marked deprecated where a schema can say so
(docs/glossary.md, "Deprecated names")."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from caredesk.bootstrap import Container
from caredesk.cli.main import app as cli
from caredesk.domain.customers import Address, Customer
from caredesk.domain.orders import Order, OrderLine, OrderStatus, Shipment
from caredesk.settings import Settings
from tests.integration.conftest import Headers


def _order_with_a_shipment(container: Container) -> str:
    now = container.clock.now()
    with container.uow() as uow:
        uow.customers.add(
            Customer(
                id="ada", first_name="Ada", last_name="Lovelace", emails=["ada@example.com"],
                created_at=now, updated_at=now,
            )
        )  # fmt: skip
        uow.orders.add(
            Order(
                id="#W1",
                customer_id="ada",
                status=OrderStatus.PROCESSED,
                address=Address("1 Analytical Way", city="London", country="UK"),
                lines=[OrderLine("v-lamp", "p-lamp", "Desk lamp", Decimal("40.00"))],
                shipments=[Shipment(["1Z1"], ["v-lamp"], "UPS", now, (now + timedelta(3)).date())],
                placed_at=now,
            )
        )
        uow.commit()
    return "#W1"


def test_an_order_answers_its_shipments_also_as_the_deprecated_fulfilments(
    client: TestClient, container: Container, agent: Headers
) -> None:
    _order_with_a_shipment(container)
    order = client.get("/api/v1/orders/%23W1", headers=agent).json()
    assert [s["tracking_ids"] for s in order["shipments"]] == [["1Z1"]]
    assert order["fulfilments"] == order["shipments"]
    listed = client.get("/api/v1/customers/ada/orders", headers=agent).json()
    assert listed[0]["fulfilments"] == listed[0]["shipments"] == order["shipments"]
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["OrderOut"]
    assert schema["properties"]["fulfilments"]["deprecated"] is True
    assert "deprecated" not in schema["properties"]["shipments"]


def test_an_approval_answers_the_deprecated_requester_role_beside_requested_by_role(
    client: TestClient,
) -> None:
    # An approval's answer is tested where approvals are made (test_api_grants.py); here,
    # that the schema tells clients which name to use.
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["ApprovalOut"]
    assert schema["properties"]["requester_role"]["deprecated"] is True
    assert "requested_by_role" in schema["required"]


def test_the_survey_days_setting_is_read_under_its_former_name_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CAREDESK_SATISFACTION_SURVEY_DAYS", raising=False)
    monkeypatch.setenv("CAREDESK_CSAT_SURVEY_DAYS", "9")
    assert Settings(_env_file=None).satisfaction_survey_days == 9
    monkeypatch.setenv("CAREDESK_SATISFACTION_SURVEY_DAYS", "5")
    assert Settings(_env_file=None).satisfaction_survey_days == 5
    assert Settings(_env_file=None, satisfaction_survey_days=3).satisfaction_survey_days == 3


def test_the_survey_mail_template_answers_to_its_former_name(
    client: TestClient, admin: Headers
) -> None:
    names = [t["name"] for t in client.get("/api/v1/mail/templates", headers=admin).json()]
    assert "satisfaction_survey" in names and "csat_survey" not in names
    former = client.get("/api/v1/mail/templates/csat_survey", headers=admin).json()
    assert former == client.get("/api/v1/mail/templates/satisfaction_survey", headers=admin).json()
    edit = {"subject": "How was it?", "text": "{{ link }}", "html": None}
    edited = client.put("/api/v1/mail/templates/csat_survey", json=edit, headers=admin)
    assert edited.status_code == 200, edited.text
    assert edited.json()["name"] == "satisfaction_survey"
    now = client.get("/api/v1/mail/templates/satisfaction_survey", headers=admin).json()
    assert now["subject"] == "How was it?"
    assert client.delete("/api/v1/mail/templates/csat_survey", headers=admin).status_code == 200
    reset = client.get("/api/v1/mail/templates/satisfaction_survey", headers=admin).json()
    assert reset["subject"] == former["subject"]


def test_the_agents_commands_answer_to_their_former_name_users(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CLI on the test database, without loading the embedding model.
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("CAREDESK_SEMANTIC_SEARCH", "false")
    runner = CliRunner()
    who = ["--email", "eve@example.com", "--name", "Eve", "--password", "long-enough-pw"]
    created = runner.invoke(cli, ["users", "create", *who])
    assert created.exit_code == 0, created.output
    listed = runner.invoke(cli, ["agents", "list"])
    assert "eve@example.com" in listed.output
    assert "users" not in runner.invoke(cli, ["--help"]).output
