"""Commands that need no model never load one: the CLI starts at once, a migration stays light.

Each check runs in a fresh interpreter, where `sys.modules` tells what was imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("torch", "transformers")

PROBE = f"""
import json, sys
from caredesk.cli.main import app
try:
    app(sys.argv[1:], prog_name="caredesk")
except SystemExit as stop:
    code = stop.code
else:
    code = 0
print(json.dumps({{"code": code, "loaded": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""


def _run(tmp_path: Path, *args: str) -> dict[str, object]:
    env = {
        "CAREDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'desk.db'}",
        "CAREDESK_LOG_LEVEL": "warning",
        "HF_HUB_OFFLINE": "1",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_help_loads_no_model(tmp_path: Path) -> None:
    assert _run(tmp_path, "--help") == {"code": 0, "loaded": []}


def test_migrating_and_managing_tokens_load_no_model(tmp_path: Path) -> None:
    assert _run(tmp_path, "db", "upgrade") == {"code": 0, "loaded": []}
    assert _run(tmp_path, "tokens", "create", "--role", "admin") == {"code": 0, "loaded": []}


def test_the_api_without_semantic_search_loads_no_model(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from caredesk.bootstrap import bootstrap\n"
        "from caredesk.settings import Settings\n"
        "from caredesk.web.app import create_app\n"
        f"settings = Settings(database_url='sqlite:///{tmp_path / 'api.db'}', "
        "semantic_search=False)\n"
        "create_app(container=bootstrap(settings))\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"
