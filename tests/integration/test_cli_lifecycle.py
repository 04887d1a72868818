"""`caredesk proactive`, `caredesk commitments` and `caredesk cases` on the test database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from caredesk.bootstrap import Container
from caredesk.cli.main import app
from caredesk.domain.agents import SYSTEM
from caredesk.domain.cases import MessageKind
from caredesk.domain.customers import Address
from caredesk.domain.orders import Order, OrderLine, OrderStatus, Shipment
from caredesk.services.cases import cases
from caredesk.services.lifecycle import lifecycle
from caredesk.services.lifecycle.ports import CommitmentFilter
from tests import factories


@pytest.fixture
def cli_desk(container: Container, monkeypatch: pytest.MonkeyPatch) -> Container:
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("CAREDESK_SEMANTIC_SEARCH", "false")
    factories.store(
        container,
        factories.customer(
            "c-cli",
            container.clock.now(),
            first_name="Grace",
            last_name="Hopper",
            email="grace@example.com",
            addresses=[],
            card=None,
        ),
    )
    return container


def test_proactive_scan_from_the_command_line_is_idempotent(cli_desk: Container) -> None:
    # The command runs on the real clock: the shipment left two weeks before today.
    shipped = datetime.now(UTC) - timedelta(days=14)
    with cli_desk.uow() as uow:
        uow.orders.add(
            Order(
                id="#W3001",
                customer_id="c-cli",
                status=OrderStatus.SHIPPED,
                address=Address(address1="1 Navy Way"),
                lines=[OrderLine("v1", "p1", "Compiler", Decimal("10.00"))],
                shipments=[Shipment(["T9"], ["v1"], shipped_at=shipped)],
            )
        )
        uow.commit()
    runner = CliRunner()
    first = runner.invoke(app, ["proactive", "scan"])
    assert first.exit_code == 0, first.output
    assert "1 case(s) opened" in first.output
    second = runner.invoke(app, ["proactive", "scan"])
    assert "0 case(s) opened, 1 known already" in second.output
    listed = runner.invoke(app, ["proactive", "findings"])
    assert "shipment_stalled:#W3001:0" in listed.output


def test_merge_split_undo_and_commitments_from_the_command_line(cli_desk: Container) -> None:
    now = cli_desk.clock.now()
    one = cases.create_case(
        cli_desk.uow(), SYSTEM, now, customer_id="c-cli", subject="One", body="First."
    ).case
    two = cases.create_case(
        cli_desk.uow(), SYSTEM, now, customer_id="c-cli", subject="Two", body="Second."
    ).case
    runner = CliRunner()

    merged = runner.invoke(app, ["cases", "merge", str(one.id), str(two.id)])
    assert merged.exit_code == 0, merged.output
    [link] = lifecycle.case_links(cli_desk.uow(), SYSTEM, one.id or 0)
    undone = runner.invoke(app, ["cases", "undo", str(link.id)])
    assert "merged_into link" in undone.output
    again = runner.invoke(app, ["cases", "undo", str(link.id)])
    assert again.exit_code == 1
    assert "already_undone" in again.output

    only = cases.get_case(cli_desk.uow(), SYSTEM, one.id or 0).messages[0]
    refused = runner.invoke(app, ["cases", "split", str(one.id), "--message", str(only.id)])
    assert refused.exit_code == 1
    assert "cannot_split" in refused.output
    cases.add_message(
        cli_desk.uow(), SYSTEM, now, one.id or 0, kind=MessageKind.INBOUND, body="Other topic."
    )

    due = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S")
    added = runner.invoke(
        app,
        ["commitments", "add", str(one.id), "--kind", "callback",
         "--description", "Call back about the invoice", "--due", due],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["commitments", "list"])
    assert "Call back about the invoice" in listed.output
    [commitment] = lifecycle.list_commitments(
        cli_desk.uow(), SYSTEM, CommitmentFilter(case_id=one.id)
    )
    kept = runner.invoke(app, ["commitments", "keep", str(commitment.id)])
    assert "kept" in kept.output


def test_the_worker_runs_the_lifecycle_timers(cli_desk: Container) -> None:
    assert cli_desk.jobs is not None
    timers = cli_desk.jobs.timers
    assert {"lifecycle.commitments", "lifecycle.proactive_scan"} <= set(timers)
    now = cli_desk.clock.now()
    with cli_desk.uow() as uow:
        uow.orders.add(
            Order(
                id="#W3002",
                customer_id="c-cli",
                status=OrderStatus.DELIVERED,
                address=Address(address1="1 Navy Way"),
                lines=[OrderLine("v1", "p1", "Compiler", Decimal("10.00"))],
                shipments=[Shipment(["T8"], ["v2"], delivered_at=now)],
            )
        )
        uow.commit()
    timers["lifecycle.proactive_scan"].fn(cli_desk.job_context())
    timers["lifecycle.proactive_scan"].fn(cli_desk.job_context())
    [finding] = lifecycle.list_findings(cli_desk.uow(), SYSTEM)
    assert finding.key == "wrong_item:#W3002:0"
    timers["lifecycle.commitments"].fn(cli_desk.job_context())
