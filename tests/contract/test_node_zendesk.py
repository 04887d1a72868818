"""node-zendesk, Zendesk's Node.js client, against a live caredesk through its endpointUri.

The scenarios are scripts in tests/contract/node that use the client's own calls and print
what it returned as JSON; `make install` puts node-zendesk there from its npm lock file.
Where node or that install is missing the tests skip and say which."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
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


def run_scenario(live_desk: LiveDesk, name: str) -> dict[str, Any]:
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, str(NODE_DIR / f"{name}.js")],
        env={
            **os.environ,
            "CAREDESK_URL": live_desk.base_url,
            "CAREDESK_EMAIL": live_desk.email,
            "CAREDESK_TOKEN": live_desk.token,
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
