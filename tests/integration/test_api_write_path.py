"""What a write over the REST API costs beside the command itself: the worker threads it
crosses to and the transactions it begins, counted, so that the web side cannot grow back."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from tests.integration.conftest import Headers
from tests.integration.statements import transactions_begun

NewCase = Callable[..., dict[str, Any]]


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of each function the app hands to a worker thread (sync dependencies and
    routes go through `anyio.to_thread.run_sync`)."""
    crossed: list[str] = []
    real = anyio.to_thread.run_sync

    async def counted(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        inner = func.func if isinstance(func, functools.partial) else func
        if isinstance(func, functools.partial) and "function" in func.keywords:
            inner = func.keywords["function"]  # a route, run by FastAPI's _run_sync_endpoint
        crossed.append(getattr(inner, "__name__", repr(inner)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    return crossed


def test_a_write_crosses_to_a_worker_thread_for_the_caller_and_the_command_only(
    client: TestClient, agent: Headers, customer: dict[str, Any], hops: list[str]
) -> None:
    """The container, the clock and the call's record are handed over in the event loop: a
    thread hop each cost more than what they do. Who calls (a read of the token) and the
    command itself block, so they run in a worker thread."""
    opening = {"customer_id": customer["id"], "subject": "Printer", "body": "It stopped."}
    created = client.post("/api/v1/cases", json=opening, headers=agent)
    assert created.status_code == 201, created.text
    assert hops == ["current_actor", "create_case"]

    hops.clear()
    message = {"kind": "inbound", "body": "Still nothing."}
    case_id = created.json()["id"]
    added = client.post(f"/api/v1/cases/{case_id}/messages", json=message, headers=agent)
    assert added.status_code == 201, added.text
    assert hops == ["current_actor", "add_message"]


def test_a_repeated_create_is_answered_with_the_first_answer_and_its_headers(
    client: TestClient, agent: Headers, customer: dict[str, Any]
) -> None:
    """The answer a route builds itself is stored whole for its Idempotency-Key: the body,
    where the case is read and the version a change must name."""
    opening = {"customer_id": customer["id"], "subject": "Printer", "body": "It stopped."}
    keyed = {**agent, "Idempotency-Key": "open-once"}
    first = client.post("/api/v1/cases", json=opening, headers=keyed)
    again = client.post("/api/v1/cases", json=opening, headers=keyed)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    case = first.json()
    assert again.headers["Location"] == first.headers["Location"] == f"/api/v1/cases/{case['id']}"
    assert again.headers["ETag"] == first.headers["ETag"] == f'"{case["version"]}"'
    assert first.headers["content-type"] == "application/json"
    listed = client.get("/api/v1/cases", params={"customer_id": customer["id"]}, headers=agent)
    assert [c["id"] for c in listed.json()["items"]] == [case["id"]]


def test_a_new_case_is_answered_with_its_clocks_from_its_own_transaction(
    container: Container, client: TestClient, agent: Headers, customer: dict[str, Any]
) -> None:
    """The answer's SLA is what the write set: no second transaction reads it back."""
    opening = {"customer_id": customer["id"], "subject": "Printer", "body": "It stopped."}
    with transactions_begun(container.engine) as begun:
        created = client.post("/api/v1/cases", json=opening, headers=agent)
    assert created.status_code == 201, created.text
    assert begun == [2], "one to know the caller, one to open the case"
    answered = created.json()["sla"]
    assert [c["metric"] for c in answered["clocks"]] == ["first_reply", "resolution"]
    read = client.get(f"/api/v1/cases/{created.json()['id']}", headers=agent).json()["sla"]
    assert answered == read
