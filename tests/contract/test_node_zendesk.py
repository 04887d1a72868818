"""node-zendesk, Zendesk's Node.js client, against a live caredesk through its endpointUri.

The scenarios are scripts in tests/contract/node that use the client's own calls and print
what it returned as JSON; `make install` puts node-zendesk there from its npm lock file.
Where node or that install is missing the tests skip and say which."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.contract.conftest import LiveDesk

NODE_DIR = Path(__file__).parent / "node"
SCRIPT_SECONDS = 120


def _skip_reason() -> str | None:
    if shutil.which("node") is None:
        return "no node on PATH: node-zendesk's contract tests need Node.js 18 or later"
    if not (NODE_DIR / "node_modules" / "node-zendesk").is_dir():
        return f"node-zendesk is not installed in {NODE_DIR} (make install runs npm ci there)"
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


def run_scenario(live_desk: LiveDesk, name: str, **more: str) -> dict[str, Any]:
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, str(NODE_DIR / f"{name}.js")],
        env={
            **os.environ,
            "CAREDESK_URL": live_desk.base_url,
            "CAREDESK_EMAIL": live_desk.email,
            "CAREDESK_TOKEN": live_desk.token,
            **more,
        },
        capture_output=True,
        text=True,
        timeout=SCRIPT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_node_zendesk_reads_the_desk(live_desk: LiveDesk) -> None:
    seen = run_scenario(live_desk, "reads")
    assert seen["me"]["result"]["email"] == live_desk.email
    assert {g["name"] for g in seen["groups"]}
    # The client's list() follows the pages itself: every ticket once.
    ids = [t["id"] for t in seen["tickets"]]
    assert len(ids) == len(set(ids)) > 1
    first = seen["first"]["result"]
    assert first["id"] == ids[0]
    assert seen["comments"][0]["body"] == first["description"]


def test_node_zendesk_writes_searches_and_exports(live_desk: LiveDesk) -> None:
    word = f"w{uuid.uuid4().hex[:10]}"
    seen = run_scenario(live_desk, "writes", CAREDESK_WORD=word)
    ticket = seen["created"]["result"]
    assert (ticket["subject"], ticket["status"], ticket["tags"]) == (
        f"Toaster {word}",
        "new",
        ["toaster"],
    )
    assert seen["updated"]["result"]["status"] == "pending"
    assert [c["public"] for c in seen["comments"]] == [True, True]
    assert seen["comments"][1]["body"] == "A new one is on its way."
    assert [t["id"] for t in seen["search"]["result"]] == [ticket["id"]]
    user = seen["user"]["result"]
    assert (user["id"], user["name"]) == (ticket["requester_id"], f"Evelyn {word}")
    exported = {t["id"]: t["status"] for t in seen["exported"]}
    assert exported[ticket["id"]] == "pending"
    assert user["id"] in {u["id"] for u in seen["exportedUsers"]}
    # The client's list() follows the pages itself: every user once, the new one among them.
    ids = [u["id"] for u in seen["users"]]
    assert len(ids) == len(set(ids)) and user["id"] in ids
