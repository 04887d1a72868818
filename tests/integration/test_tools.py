"""The tool API for AI agents over HTTP and MCP: same policy, token scope, clear refusals."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.conformance import tau_format as tau_retail
from caredesk.conformance.tau_files import read_dir
from caredesk.domain.agents import SYSTEM, Role
from caredesk.domain.orders import TransactionType
from caredesk.services.access import auth
from caredesk.services.engine import policy
from caredesk.web.app import create_app

SAMPLE = Path(__file__).parent.parent / "data" / "tau_retail_sample"
IVAN, ANYA = "ivan_santos_6635", "anya_garcia_3271"


@pytest.fixture
def retail(container: Container) -> Container:
    now = container.clock.now()
    policy.load_policy(container.uow(), SYSTEM, now, policy.packaged_policy_text("tau_retail"))
    tau_retail.import_store(container.uow, now, read_dir(SAMPLE))
    return container


@pytest.fixture
def api(retail: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container=retail)) as client:
        yield client


def token(container: Container, **scope: Any) -> dict[str, str]:
    issued = auth.create_token(
        container.uow(), SYSTEM, container.clock.now(), name="bot", role=Role.AGENT, **scope
    )
    return {"Authorization": f"Bearer {issued.secret}"}


def call(
    client: TestClient, headers: dict[str, str], name: str, confirmed: bool = True, **arguments: Any
) -> Any:
    return client.post(
        f"/api/v1/tools/{name}",
        json={"arguments": arguments, "confirmed": confirmed},
        headers=headers,
    )


def test_a_scoped_token_sees_only_its_tools(api: TestClient, retail: Container) -> None:
    headers = token(retail, customer_id=IVAN, tools=["get_order_details", "cancel_pending_order"])
    listed = api.get("/api/v1/tools", headers=headers).json()
    assert sorted(t["name"] for t in listed) == ["cancel_pending_order", "get_order_details"]
    assert listed[0]["parameters"]["type"] == "object"
    other = call(api, headers, "get_user_details", user_id=IVAN)
    assert other.status_code == 403
    assert other.json()["code"] == "forbidden"


def test_a_write_goes_through_the_policy_and_the_ledger(api: TestClient, retail: Container) -> None:
    headers = {**token(retail, customer_id=IVAN), "Idempotency-Key": "c-1"}
    done = call(
        api, headers, "cancel_pending_order", order_id="#W8770097", reason="no longer needed"
    )
    assert done.status_code == 200
    assert done.json()["status"] == "done"
    assert done.json()["result"]["status"] == "cancelled"
    again = call(
        api, headers, "cancel_pending_order", order_id="#W8770097", reason="no longer needed"
    )
    assert again.json() == done.json()
    with retail.uow() as uow:
        order = uow.orders.get("#W8770097")
        assert uow.ledger.trial_balance() == 0
    assert order is not None
    assert [p.transaction_type for p in order.payments].count(TransactionType.REFUND) == 1


def test_refusals_are_answers_with_code_and_rule(api: TestClient, retail: Container) -> None:
    headers = token(retail, customer_id=ANYA)
    mine = call(
        api, headers, "cancel_pending_order", order_id="#W8770097", reason="no longer needed"
    )
    assert mine.status_code == 200
    assert mine.json()["status"] == "refused"
    assert (mine.json()["code"], mine.json()["rule"]) == ("not_customers", "identity.one_user")
    unconfirmed = call(
        api,
        headers,
        "cancel_pending_order",
        confirmed=False,
        order_id="#W6436609",
        reason="no longer needed",
    )
    assert unconfirmed.json()["code"] == "confirmation_required"
    peek = call(api, headers, "get_order_details", order_id="#W8770097")
    assert peek.json()["code"] == "not_customers"


def test_an_unbound_token_must_verify_before_changing_anything(
    api: TestClient, retail: Container
) -> None:
    headers = token(retail)
    found = call(
        api, headers, "find_user_id_by_name_zip", first_name="Ivan", last_name="Santos", zip="75277"
    )
    assert found.json()["result"] == IVAN
    refused = call(
        api, headers, "cancel_pending_order", order_id="#W8770097", reason="no longer needed"
    )
    assert refused.json()["status"] == "refused"
    assert refused.json()["rule"] == "identity.verified"


@pytest.mark.parametrize(
    ("name", "arguments", "status", "code"),
    [
        ("no_such_tool", {}, 404, "not_found"),
        ("get_order_details", {}, 422, "validation_error"),
        ("get_order_details", {"order_id": 7}, 422, "validation_error"),
        ("get_order_details", {"order_id": "#W8770097", "extra": 1}, 422, "validation_error"),
        ("calculate", {"expression": "__import__('os').system('true')"}, 200, "validation_error"),
    ],
)
def test_malformed_calls_are_problems(
    api: TestClient, retail: Container, name: str, arguments: dict[str, Any], status: int, code: str
) -> None:
    response = call(api, token(retail, customer_id=IVAN), name, **arguments)
    assert response.status_code == status
    assert response.json()["code"] == code


def test_calculate_does_arithmetic_only(api: TestClient, retail: Container) -> None:
    response = call(api, token(retail, customer_id=IVAN), "calculate", expression="(2 + 3) * 4 / 8")
    assert response.json() == {
        "status": "done",
        "result": "2.5",
        "code": None,
        "rule": None,
        "message": None,
    }


def test_a_viewer_token_cannot_run_write_tools(api: TestClient, retail: Container) -> None:
    issued = auth.create_token(retail.uow(), SYSTEM, retail.clock.now(), name="v", role=Role.VIEWER)
    headers = {"Authorization": f"Bearer {issued.secret}"}
    assert all(not t["writes"] for t in api.get("/api/v1/tools", headers=headers).json())
    response = call(
        api, headers, "cancel_pending_order", order_id="#W8770097", reason="no longer needed"
    )
    assert response.status_code == 403


def test_mcp_server_lists_and_runs_tools_with_the_tokens_authority(retail: Container) -> None:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    secret = auth.create_token(
        retail.uow(), SYSTEM, retail.clock.now(), name="mcp", role=Role.AGENT
    ).secret
    env = {
        **os.environ,
        "CAREDESK_DATABASE_URL": retail.settings.database_url,
        "CAREDESK_MCP_TOKEN": secret,
        "CAREDESK_LOG_LEVEL": "error",
    }
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "caredesk.cli.main", "mcp"], env=env
    )

    async def session() -> list[dict[str, Any]]:
        answers = []
        async with stdio_client(server) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            tools = await client.list_tools()
            names = {t.name for t in tools.tools}
            assert {"cancel_pending_order", "find_user_id_by_email"} <= names
            for name, arguments in [
                (
                    "cancel_pending_order",
                    {"order_id": "#W8770097", "reason": "no longer needed", "confirmed": True},
                ),
                ("find_user_id_by_email", {"email": "ivan.santos3158@example.com"}),
                (
                    "cancel_pending_order",
                    {"order_id": "#W6436609", "reason": "no longer needed", "confirmed": True},
                ),
                (
                    "cancel_pending_order",
                    {"order_id": "#W8770097", "reason": "no longer needed", "confirmed": True},
                ),
            ]:
                result = await client.call_tool(name, arguments)
                answers.append(json.loads(result.content[0].text))  # type: ignore[union-attr]
        return answers

    answers = anyio.run(session)
    assert [a["status"] for a in answers] == ["refused", "done", "refused", "done"]
    assert answers[0]["rule"] == "identity.verified"
    assert answers[2]["rule"] == "identity.one_user"
