"""Customer scope on the tool API: a token reaches only the customer it is bound to or
verified, for every tool, over HTTP and MCP, whatever the policy in force says.

The registry is iterated, not listed: a new tool is covered as soon as it exists, and a new
kind of argument makes the test fail until it says whose object that argument names.
"""

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
from sqlalchemy import select

from caredesk.adapters.db.models import Base
from caredesk.bootstrap import Container
from caredesk.conformance import tau_format as tau_retail
from caredesk.conformance.tau_files import read_dir
from caredesk.domain.agents import SYSTEM, Role
from caredesk.services.access import auth
from caredesk.services.cases import cases
from caredesk.services.channels.tools import TOOL_NAMES, Tool, build_registry
from caredesk.services.engine import policy
from caredesk.web.app import create_app

SAMPLE = Path(__file__).parent.parent / "data" / "tau_retail_sample"
IVAN, ANYA = "ivan_santos_6635", "anya_garcia_3271"
ANYA_PENDING_ORDER, ANYA_CARD = "#W6436609", "credit_card_8955149"
COMPLAINT = "The laptop arrived damaged: the screen is cracked and it will not start."

# Arguments that name a customer or one of their records: called with another customer's,
# a tool must refuse. Identity proofs count for a bound token (verifying someone else is
# acting for them); for a token that verified nobody yet, they are the way in.
IDENTITY_PROOFS = {"email", "first_name"}
CUSTOMER_OBJECTS = {"user_id", "order_id", "case_id", "payment_method_id", *IDENTITY_PROOFS}
# Arguments that name no customer's record on their own (catalogue items, free text, the
# fields of a new address, remedy ids), or only beside one of the above.
NEUTRAL = {
    "last_name",
    "zip",
    "product_id",
    "expression",
    "thought",
    "summary",
    "reason",
    "remedies",
    "item_ids",
    "new_item_ids",
    "address1",
    "address2",
    "city",
    "state",
    "country",
}
# Tables a refused call may touch: the token's last use is recorded on every call, and with
# it the tokens' change stamp (docs/scaling.md).
UNWATCHED = {"api_tokens", "config_stamps"}


def _lax_policy() -> str:
    """The default policy with every customer-scope rule taken out of its remedies: the
    scope must hold because the services check it, not because a policy file says so."""
    text = policy.packaged_policy_text()
    version = next(line for line in text.splitlines() if line.startswith("version:"))
    for rule in ("order.belongs_to_case_customer, ", "tool.verified_customer_only, "):
        assert rule in text
        text = text.replace(rule, "")
    return text.replace(version, 'version: "lax-scope"')


POLICIES = {"default": policy.packaged_policy_text, "lax": _lax_policy}


@pytest.fixture(params=sorted(POLICIES))
def store(request: pytest.FixtureRequest, container: Container) -> dict[str, int]:
    """The retail sample under a policy where goodwill needs only a fault on our side, and
    a damaged-item case each for Ivan and Anya. Returns the case ids by customer."""
    now = container.clock.now()
    policy.load_policy(container.uow(), SYSTEM, now, POLICIES[request.param]())
    tau_retail.import_store(container.uow, now, read_dir(SAMPLE))
    case_ids = {}
    for customer_id in (IVAN, ANYA):
        view = cases.create_case(
            container.uow(),
            SYSTEM,
            now,
            customer_id=customer_id,
            subject="Damaged laptop",
            body=COMPLAINT,
            tags=["issue:damaged"],
        )
        assert view.case.id is not None
        case_ids[customer_id] = view.case.id
    return case_ids


@pytest.fixture
def api(container: Container, store: dict[str, int]) -> Iterator[TestClient]:
    with TestClient(create_app(container=container)) as client:
        yield client


def _token(container: Container, **scope: Any) -> str:
    return auth.create_token(
        container.uow(), SYSTEM, container.clock.now(), name="bot", role=Role.AGENT, **scope
    ).secret


def _available_variant(product_id: str, other_than: str) -> str:
    products: dict[str, Any] = json.loads((SAMPLE / "products.json").read_text())
    variants = products[product_id]["variants"]
    return next(i for i, v in variants.items() if i != other_than and v["available"])


def _anyas(store: dict[str, int]) -> dict[str, Any]:
    """A value for every argument a tool may take, naming Anya's records where it names any."""
    return {
        "user_id": ANYA,
        "order_id": ANYA_PENDING_ORDER,
        "case_id": store[ANYA],
        "payment_method_id": ANYA_CARD,
        "email": "anya.garcia2061@example.com",
        "first_name": "Anya",
        "last_name": "Garcia",
        "zip": "19036",
        "product_id": "4760268021",
        "expression": "2 + 2",
        "thought": "Which order is it?",
        "summary": "wants a refund",
        "reason": "no longer needed",
        "remedies": ["store-credit", "shipping-credit"],
        "item_ids": ["6017636844"],
        "new_item_ids": [_available_variant("4760268021", other_than="6017636844")],
        "address1": "1 Other St",
        "address2": "",
        "city": "Austin",
        "state": "TX",
        "country": "USA",
    }


def _names_a_customer(tool: Tool, *, proofs: bool) -> bool:
    names = set(tool.parameters["properties"])
    unknown = names - CUSTOMER_OBJECTS - NEUTRAL
    assert not unknown, f"{tool.name} takes {sorted(unknown)}: say whose objects they name"
    return bool(names & (CUSTOMER_OBJECTS if proofs else CUSTOMER_OBJECTS - IDENTITY_PROOFS))


def _calls(
    store: dict[str, int], *, writes_only: bool = False, proofs: bool = True
) -> list[tuple[str, dict[str, Any]]]:
    """Every tool that names a customer's record, called with Anya's."""
    values = _anyas(store)
    return [
        (tool.name, {name: values[name] for name in tool.parameters["properties"]})
        for tool in build_registry().tools.values()
        if _names_a_customer(tool, proofs=proofs) and (tool.writes or not writes_only)
    ]


def _database(container: Container) -> dict[str, list[str]]:
    """Every row of every table, to show that a refused call changed nothing at all."""
    with container.engine.connect() as conn:
        return {
            table.name: sorted(map(repr, conn.execute(select(table)).all()))
            for table in Base.metadata.sorted_tables
            if table.name not in UNWATCHED
        }


def _refused(answer: dict[str, Any], name: str) -> None:
    assert answer["status"] == "refused", (name, answer)
    assert answer["code"] in ("not_customers", "not_found"), (name, answer)
    assert answer["result"] is None, (name, answer)


@pytest.mark.parametrize(
    "scope",
    [
        pytest.param({"customer_id": IVAN}, id="bound-to-ivan"),
        pytest.param({}, id="unbound-unverified"),
        pytest.param({"tools": sorted(TOOL_NAMES)}, id="unbound-tools-unverified"),
    ],
)
def test_every_tool_refuses_another_customers_objects_over_http(
    api: TestClient, container: Container, store: dict[str, int], scope: dict[str, Any]
) -> None:
    headers = {"Authorization": f"Bearer {_token(container, **scope)}"}
    calls = _calls(store, proofs="customer_id" in scope)
    assert {"plan_case", "grant_offer", "get_order_details", "cancel_pending_order"} <= {
        name for name, _ in calls
    }
    before = _database(container)
    for name, arguments in calls:
        response = api.post(
            f"/api/v1/tools/{name}",
            json={"arguments": arguments, "confirmed": True},
            headers=headers,
        )
        assert response.status_code == 200, (name, response.text)
        _refused(response.json(), name)
    assert _database(container) == before


def test_a_bound_token_still_plans_and_grants_for_its_own_customer(
    api: TestClient, container: Container, store: dict[str, int]
) -> None:
    """The control for the test above: the same calls on Ivan's own case go through."""
    headers = {"Authorization": f"Bearer {_token(container, customer_id=IVAN)}"}
    planned = api.post(
        "/api/v1/tools/plan_case", json={"arguments": {"case_id": store[IVAN]}}, headers=headers
    ).json()
    assert planned["status"] == "done", planned
    granted = api.post(
        "/api/v1/tools/grant_offer",
        json={
            "arguments": {"case_id": store[IVAN], "remedies": ["store-credit", "shipping-credit"]},
            "confirmed": True,
        },
        headers=headers,
    ).json()
    assert granted["status"] == "done", granted
    with container.uow() as uow:
        (grant,) = uow.grants.for_customer(IVAN)
        assert grant.case_id == store[IVAN]
        assert uow.grants.for_customer(ANYA) == []


def test_a_bound_token_cannot_pay_or_be_refunded_with_another_customers_payment_method(
    api: TestClient, container: Container, store: dict[str, int]
) -> None:
    """Ivan's own orders, Anya's card: each tool that takes a payment method is refused on
    both of Ivan's orders (one fits it, pending or delivered), for the card, and nothing
    changes."""
    headers = {"Authorization": f"Bearer {_token(container, customer_id=IVAN)}"}
    ivans = {  # a pending and a delivered order, with an item of each and another option
        "#W5183325": ("6206533187", _available_variant("2696197613", other_than="6206533187")),
        "#W6893533": ("5206946487", _available_variant("6679515468", other_than="5206946487")),
    }
    paying = [
        t
        for t in build_registry().tools.values()
        if "payment_method_id" in t.parameters["properties"]
    ]
    assert len(paying) >= 4
    before = _database(container)
    for tool in paying:
        codes = set()
        for order_id, (item, other) in ivans.items():
            values = {
                **_anyas(store),
                "order_id": order_id,
                "item_ids": [item],
                "new_item_ids": [other],
            }
            arguments = {name: values[name] for name in tool.parameters["properties"]}
            answer = api.post(
                f"/api/v1/tools/{tool.name}",
                json={"arguments": arguments, "confirmed": True},
                headers=headers,
            ).json()
            assert answer["status"] == "refused", (tool.name, order_id, answer)
            codes.add(answer["code"])
        assert "invalid_payment_method" in codes, (tool.name, codes)
    assert _database(container) == before


def _mcp(container: Container, secret: str, calls: list[tuple[str, dict[str, Any]]]) -> Any:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    env = {
        **os.environ,
        "CAREDESK_DATABASE_URL": container.settings.database_url,
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
            for name, arguments in calls:
                result = await client.call_tool(name, arguments)
                answers.append(json.loads(result.content[0].text))  # type: ignore[union-attr]
        return answers

    return anyio.run(session)


def test_write_tools_refuse_another_customers_objects_over_mcp(
    container: Container, store: dict[str, int]
) -> None:
    writes = [(name, {**args, "confirmed": True}) for name, args in _calls(store, writes_only=True)]
    assert {"grant_offer", "cancel_pending_order"} <= {name for name, _ in writes}
    verify_ivan = ("find_user_id_by_email", {"email": "ivan.santos3158@example.com"})
    bound_token, unbound_token = _token(container, customer_id=IVAN), _token(container)
    before = _database(container)

    bound = _mcp(container, bound_token, writes)
    # An unbound token: first with nobody verified, then with the session bound to Ivan.
    unbound = _mcp(container, unbound_token, [*writes, verify_ivan, *writes])

    unverified, verified, after = (
        unbound[: len(writes)],
        unbound[len(writes)],
        unbound[-len(writes) :],
    )
    assert verified["result"] == IVAN
    for answers in (bound, unverified, after):
        for (name, _), answer in zip(writes, answers, strict=True):
            _refused(answer, name)
    assert _database(container) == before
