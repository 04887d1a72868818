"""`caredesk demo load` prints addresses that reach the desk `make demo` serves, and the
README's second-shell token works as written."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from caredesk.bootstrap import Container
from caredesk.cli.main import app as cli
from caredesk.web.app import create_app

URL = re.compile(r"https?://[^\s/]+")
# What `caredesk demo load` prints (addresses, the token) does not depend on the database, and
# test_demo.py loads the store on both.
pytestmark = pytest.mark.one_backend


@pytest.fixture
def cli_desk(container: Container, monkeypatch: pytest.MonkeyPatch) -> Container:
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("CAREDESK_SEMANTIC_SEARCH", "false")
    return container


def test_the_printed_addresses_follow_host_and_port(cli_desk: Container) -> None:
    done = CliRunner().invoke(
        cli, ["demo", "load", "--customers", "3", "--host", "127.0.0.2", "--port", "18700"]
    )
    assert done.exit_code == 0, done.output
    assert "Sign in at http://127.0.0.2:18700/ as" in done.output
    assert "portal: http://127.0.0.2:18700/portal" in done.output
    assert "--url http://127.0.0.2:18700/portal" in done.output
    assert "API docs: http://127.0.0.2:18700/api/docs" in done.output
    assert set(URL.findall(done.output)) == {"http://127.0.0.2:18700"}
    assert ":8000" not in done.output


def test_the_default_addresses_are_those_of_caredesk_serve(cli_desk: Container) -> None:
    done = CliRunner().invoke(cli, ["demo", "load", "--customers", "3"])
    assert done.exit_code == 0, done.output
    assert set(URL.findall(done.output)) == {"http://127.0.0.1:8000"}


def test_an_ipv6_host_is_bracketed(cli_desk: Container) -> None:
    done = CliRunner().invoke(cli, ["demo", "load", "--customers", "3", "--host", "::1"])
    assert done.exit_code == 0, done.output
    assert "Sign in at http://[::1]:8000/ as" in done.output


def test_the_readme_token_lists_the_story_cases(cli_desk: Container) -> None:
    """TOKEN=$(caredesk tokens create --role agent --name curl | tail -1), then the curl."""
    loaded = CliRunner().invoke(cli, ["demo", "load", "--customers", "3"])
    assert loaded.exit_code == 0, loaded.output
    created = CliRunner().invoke(cli, ["tokens", "create", "--role", "agent", "--name", "curl"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    with TestClient(create_app(container=cli_desk)) as client:
        answer = client.get(
            "/api/v1/cases?tag=seed-story", headers={"Authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["items"]) == 5


def test_the_demo_token_is_the_last_line(cli_desk: Container) -> None:
    """The demo's own token, as the README says to take it: `tail -1` of the output."""
    loaded = CliRunner().invoke(cli, ["demo", "load", "--customers", "3"])
    assert loaded.exit_code == 0, loaded.output
    token = loaded.stdout.strip().splitlines()[-1].strip()
    with TestClient(create_app(container=cli_desk)) as client:
        answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["role"] == "admin"
