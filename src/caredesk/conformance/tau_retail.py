"""Replay tau-bench retail tasks through caredesk's tool API, services and policy.

For each task: a fresh copy of the imported store, the retail policy in force, an agent's
token limited to the retail tools and bound to the task's user by verifying their email,
and each write action run as a tool call with the customer's confirmation. The end state
is exported in the tau format and every record that changed is reported, with each
action's status, refusal code and rule.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from caredesk.bootstrap import bootstrap, replay_database, upgrade_database
from caredesk.conformance import tau_format as tau_retail
from caredesk.conformance.tau_files import read_dir
from caredesk.domain.agents import SYSTEM, Actor, Agent, Role
from caredesk.domain.errors import ValidationFailed
from caredesk.services.access import auth
from caredesk.services.channels.tools import (
    RETAIL_TOOLS,
    WRITE_TOOLS,
    Registry,
    ToolCall,
    build_registry,
)
from caredesk.services.engine import policy
from caredesk.settings import Settings

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
Json = dict[str, Any]


class _FixedClock:
    def now(self) -> datetime:
        return NOW


@dataclass
class Summary:
    tasks: int = 0
    done: int = 0
    refused: int = 0
    codes: Counter[str] = field(default_factory=Counter)

    def add(self, results: list[Json]) -> None:
        self.tasks += 1
        for r in results:
            if r["status"] == "done":
                self.done += 1
            else:
                self.refused += 1
                self.codes[str(r["code"])] += 1


class ReplayDatabase(Protocol):
    """What a replay needs of its database beyond the services (`adapters/db/replay.py`)."""

    def save(self) -> None: ...

    def restore(self) -> None: ...

    def close(self) -> None: ...

    def changed_order_ids(self) -> list[str]: ...

    def changed_customer_ids(self) -> set[str]: ...

    def product_rows(self) -> dict[str, tuple[Any, ...]]: ...


def load_tasks(path: Path) -> list[Json]:
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(f"cannot read tasks from {path}: {exc}") from exc
    if not isinstance(tasks, list) or not all(
        isinstance(t, dict) and "user_id" in t and isinstance(t.get("actions"), list) for t in tasks
    ):
        raise ValidationFailed(f"{path} is not a list of tasks with user_id and actions")
    return tasks


class Replayer:
    """Imports the store once into SQLite in memory, keeps a snapshot, and restores it
    before each task, so every task starts from exactly the imported store."""

    def __init__(self, data_dir: Path, policy_text: str) -> None:
        self.store = read_dir(data_dir)
        self.original = tau_retail.TauStore(
            users=json.loads(json.dumps(self.store.users)),
            products=json.loads(json.dumps(self.store.products)),
            orders=json.loads(json.dumps(self.store.orders)),
        )
        self.registry: Registry = build_registry()
        settings = Settings(database_url="sqlite://", log_level="error")
        self.container = bootstrap(settings, clock=_FixedClock())
        upgrade_database(self.container)
        policy.load_policy(self.container.uow(), SYSTEM, NOW, policy_text)
        tau_retail.import_store(self.container.uow, NOW, self.store)
        with self.container.uow() as uow:
            agent = Agent(id=None, email="replay@caredesk.example", name="Replay", role=Role.AGENT)
            uow.agents.add(agent)
            uow.commit()
        assert agent.id is not None
        self.agent_id = agent.id
        self.database: ReplayDatabase = replay_database(self.container)
        self.products = self.database.product_rows()
        self.database.save()

    def close(self) -> None:
        self.database.close()
        self.container.close()

    def __enter__(self) -> Replayer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _verified_agent(self, user_id: str) -> Actor:
        """An agent's token limited to the retail tools, bound by verifying the user's email,
        exactly as an AI agent would be at the start of a tool session."""
        now = NOW
        issued = auth.create_token(
            self.container.uow(),
            SYSTEM,
            now,
            name="replay",
            role=Role.AGENT,
            agent_id=self.agent_id,
            tools=RETAIL_TOOLS,
        )
        email = self.store.users.get(user_id, {}).get("email")
        if isinstance(email, str):
            actor = auth.authenticate_token(self.container.uow(), issued.secret, now)
            call = ToolCall(self.container.uow, actor, now, {"email": email})
            self.registry.run("find_user_id_by_email", call)
        return auth.authenticate_token(self.container.uow(), issued.secret, now)

    def replay(self, index: int, task: Json, *, confirmed: bool = True) -> Json:
        self.database.restore()
        actor = self._verified_agent(str(task["user_id"]))
        results: list[Json] = []
        for step, action in enumerate(task["actions"]):
            name = action.get("name")
            if name not in WRITE_TOOLS:
                continue  # read-only tools change nothing
            call = ToolCall(
                uow=self.container.uow,
                actor=actor,
                now=NOW,
                arguments=dict(action.get("kwargs") or {}),
                confirmed=confirmed,
                idempotency_key=f"task-{index}-{step}",
            )
            outcome = self.registry.run(str(name), call)
            results.append(
                {
                    "action": name,
                    "status": outcome.status,
                    "code": outcome.code,
                    "rule": outcome.rule,
                }
            )
        return {"task": index, "results": results, "changed": self.changed()}

    def changed(self) -> Json:
        """Every record whose export differs from the import.

        Each write bumps an order's or a customer's row version, so only rows past version
        1 can differ; those are exported and compared whole. A product is exported when
        any of its stored rows differs from the imported ones. `changed_by_full_export`
        computes the same from a whole export, slowly, to check this shortcut.
        """
        order_ids = self.database.changed_order_ids()
        user_ids = self.database.changed_customer_ids()
        now_rows = self.database.product_rows()
        product_ids = {
            k for k in {*now_rows, *self.products} if now_rows.get(k) != self.products.get(k)
        }
        exported = tau_retail.TauStore()
        with self.container.uow() as uow:
            for order_id in order_ids:
                order = uow.orders.get(order_id)
                assert order is not None
                exported.orders[order_id] = tau_retail.order_to_tau(order)
                user_ids.add(order.customer_id)
            for user_id in user_ids:
                customer = uow.customers.get(user_id)
                assert customer is not None
                own = [o.id for o in uow.orders.for_customer(user_id)]
                exported.users[user_id] = tau_retail.customer_to_tau(customer, own)
            for product_id in product_ids:
                product = uow.products.get(product_id)
                if product is not None:
                    exported.products[product_id] = tau_retail.product_to_tau(product)
        return self._diff(exported)

    def changed_by_full_export(self) -> Json:
        return self._diff(tau_retail.export_store(self.container.uow))

    def _diff(self, exported: tau_retail.TauStore) -> Json:
        changed: Json = {}
        for kind in ("users", "orders", "products"):
            before: dict[str, Json] = getattr(self.original, kind)
            after: dict[str, Json] = getattr(exported, kind)
            changed[kind] = {k: v for k, v in after.items() if before.get(k) != v}
        return changed


def run(
    data_dir: Path,
    tasks_file: Path,
    out_file: Path,
    policy_text: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Summary:
    tasks = load_tasks(tasks_file)
    summary = Summary()
    with (
        Replayer(data_dir, policy_text or policy.packaged_policy_text("tau_retail")) as replayer,
        out_file.open("w", encoding="utf-8") as out,
    ):
        for index, task in enumerate(tasks):
            line = replayer.replay(index, task)
            summary.add(line["results"])
            out.write(json.dumps(line) + "\n")
            if progress:
                progress(index + 1, len(tasks))
    return summary


def _close(a: Any, b: Any) -> bool:
    """Equal as JSON, numbers within 1e-6 (the oracle keeps float artefacts)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(a - b) <= 1e-6
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def compare(ours: Json, expected: Json) -> list[str]:
    """Where a replayed task differs from the reference end state: statuses and records."""
    problems = []
    mine = [r["status"] for r in ours["results"]]
    theirs = [r["status"] for r in expected["results"]]
    if mine != theirs:
        problems.append(f"task {ours['task']}: statuses {mine} != {theirs}")
    for kind in ("users", "orders", "products"):
        a, b = ours["changed"].get(kind, {}), expected["changed"].get(kind, {})
        if a.keys() != b.keys():
            problems.append(f"task {ours['task']}: changed {kind} {sorted(a)} != {sorted(b)}")
            continue
        for key in a:
            if not _close(a[key], b[key]):
                problems.append(f"task {ours['task']}: {kind} {key} differs")
    return problems
