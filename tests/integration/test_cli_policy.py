"""`caredesk policy load / changes / confirm / reject`: the command line acts for the admin
whose token it is given, and a loosening change waits for another admin there too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Role
from caredesk.services.access import auth
from caredesk.services.engine import policy
from tests.integration.money_store import add_agent


@pytest.fixture
def cli_desk(container: Container, monkeypatch: pytest.MonkeyPatch) -> Container:
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("CAREDESK_SEMANTIC_SEARCH", "false")
    monkeypatch.delenv("CAREDESK_TOKEN", raising=False)
    policy.ensure_policy(
        container.uow(), SYSTEM, container.clock.now(), policy.packaged_policy_text()
    )
    return container


def _token(container: Container, email: str, role: Role = Role.ADMIN) -> str:
    person = add_agent(container, email, role)
    issued = auth.create_token(
        container.uow(),
        SYSTEM,
        container.clock.now(),
        name=email,
        role=role,
        agent_id=person.agent_id,
    )
    return issued.secret


def _file(tmp_path: Path, version: str, per_grant: int) -> Path:
    data: dict[str, Any] = yaml.safe_load(policy.packaged_policy_text())
    data["version"] = version
    data["authority"]["agent"]["per_grant"] = per_grant
    path = tmp_path / f"{version}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _in_force(container: Container) -> str:
    return policy.active_policy(container.uow()).version


def _invoke(*args: str) -> Any:
    from caredesk.cli.main import app

    return CliRunner().invoke(app, ["policy", *args])


def test_load_without_a_token_is_refused(cli_desk: Container, tmp_path: Path) -> None:
    before = _in_force(cli_desk)
    result = _invoke("load", str(_file(tmp_path, "looser", 500)))
    assert result.exit_code == 2
    assert "--token" in result.output
    assert _in_force(cli_desk) == before


def test_an_empty_policy_is_refused_unless_forced(cli_desk: Container, tmp_path: Path) -> None:
    before = _in_force(cli_desk)
    ada = _token(cli_desk, "ada@desk.example")
    empty = tmp_path / "empty.yaml"
    empty.write_text("version: x\n", encoding="utf-8")
    refused = _invoke("load", str(empty), "--token", ada)
    assert refused.exit_code == 1
    assert "policy_empty" in refused.output
    assert _in_force(cli_desk) == before
    forced = _invoke("load", str(empty), "--token", ada, "--force")
    assert forced.exit_code == 0, forced.output
    assert "forced: grants nothing" in forced.output
    assert "waits for another admin" in forced.output
    assert _in_force(cli_desk) == before


def test_a_raised_limit_is_proposed_and_another_admin_confirms_it(
    cli_desk: Container, tmp_path: Path
) -> None:
    before = _in_force(cli_desk)
    ada, bea = _token(cli_desk, "ada@desk.example"), _token(cli_desk, "bea@desk.example")
    proposed = _invoke("load", str(_file(tmp_path, "looser", 500)), "--token", ada)
    assert proposed.exit_code == 0, proposed.output
    assert "authority.agent.per_grant" in proposed.output
    assert "loosens" in proposed.output
    assert "policy confirm 1" in proposed.output
    assert _in_force(cli_desk) == before
    listed = _invoke("changes")
    assert "change 1: version looser" in listed.output
    own = _invoke("confirm", "1", "--token", ada)
    assert own.exit_code == 1
    assert "own_request" in own.output
    assert _in_force(cli_desk) == before
    confirmed = _invoke("confirm", "1", "--token", bea, "--note", "agreed")
    assert confirmed.exit_code == 0, confirmed.output
    assert _in_force(cli_desk) == "looser"
    again = _invoke("reject", "1", "--token", bea)
    assert again.exit_code == 1
    assert "policy_change_decided" in again.output


def test_tightening_goes_in_at_once_and_a_lead_may_not_load(
    cli_desk: Container, tmp_path: Path
) -> None:
    ada = _token(cli_desk, "ada@desk.example")
    lead = _token(cli_desk, "lena@desk.example", Role.LEAD)
    refused = _invoke("load", str(_file(tmp_path, "tighter", 50)), "--token", lead)
    assert refused.exit_code == 1
    assert "forbidden" in refused.output
    loaded = _invoke("load", str(_file(tmp_path, "tighter", 50)), "--token", ada)
    assert loaded.exit_code == 0, loaded.output
    assert "tightens" in loaded.output
    assert _in_force(cli_desk) == "tighter"


def test_a_rejected_change_leaves_the_policy(cli_desk: Container, tmp_path: Path) -> None:
    before = _in_force(cli_desk)
    ada, bea = _token(cli_desk, "ada@desk.example"), _token(cli_desk, "bea@desk.example")
    _invoke("load", str(_file(tmp_path, "looser", 500)), "--token", ada)
    rejected = _invoke("reject", "1", "--token", bea, "--note", "too much")
    assert rejected.exit_code == 0, rejected.output
    assert _in_force(cli_desk) == before
    assert "too much" in _invoke("changes", "--status", "rejected").output
    assert _invoke("changes", "--status", "bogus").exit_code == 2
