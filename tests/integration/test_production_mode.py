"""CAREDESK_ENV=production: no start with a built-in or short secret (serve, worker, smtp,
every command that builds the desk), Secure cookies and HSTS; development warns."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from argon2 import extract_parameters, profiles
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from caredesk.bootstrap import Container, bootstrap
from caredesk.cli.main import app as cli
from caredesk.domain.agents import SYSTEM, Role
from caredesk.services.access import auth
from caredesk.settings import DEV_MAIL_SIGNING_KEY, Settings, UnsafeSettings
from caredesk.web.app import create_app

STRONG_KEY = "k" * 12 + "9f3Q-long-random-signing-key-value"
PASSWORD = "production-mode-password"
LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')
# What the mode decides (refusals at start, cookies, headers, hashing) is the settings', not the
# database's.
pytestmark = pytest.mark.one_backend


@pytest.mark.parametrize(
    ("key", "why"),
    [
        (DEV_MAIL_SIGNING_KEY, "is a built-in value anyone can read"),
        ("caredesk-demo", "is a built-in value anyone can read"),
        ("changeme", "is a built-in value anyone can read"),
        ("x" * 31, "has 31 characters, under 32"),
    ],
)
def test_production_refuses_a_weak_mail_signing_key(key: str, why: str) -> None:
    settings = Settings(env="production", mail_signing_key=key)
    with pytest.raises(UnsafeSettings) as refused:
        settings.check_production()
    assert f"CAREDESK_MAIL_SIGNING_KEY {why}" in str(refused.value)
    assert str(refused.value).startswith("CAREDESK_ENV=production will not start")
    with pytest.raises(UnsafeSettings):
        bootstrap(settings)  # nothing is built from it either


def test_a_long_random_key_starts_and_development_never_refuses() -> None:
    Settings(env="production", mail_signing_key=STRONG_KEY).check_production()
    Settings(env="development").check_production()
    assert Settings().env == "development"


def test_the_environment_picks_the_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREDESK_ENV", "production")
    assert Settings().production
    monkeypatch.setenv("CAREDESK_ENV", "staging")
    with pytest.raises(ValueError, match="env"):
        Settings()


@pytest.mark.parametrize(
    "command",
    [["serve"], ["worker", "--once"], ["smtp"], ["db", "upgrade"], ["webhooks", "list"]],
)
def test_every_command_that_builds_the_desk_refuses_in_one_line(
    command: list[str], container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("CAREDESK_SEMANTIC_SEARCH", "false")
    monkeypatch.setenv("CAREDESK_ENV", "production")
    monkeypatch.delenv("CAREDESK_MAIL_SIGNING_KEY", raising=False)
    done = CliRunner().invoke(cli, command)
    assert done.exit_code == 1, done.output
    assert not isinstance(done.exception, UnsafeSettings)  # said, not raised
    assert "Traceback" not in done.output
    [line] = done.output.strip().splitlines()
    assert "CAREDESK_MAIL_SIGNING_KEY" in line and "CAREDESK_ENV=production" in line


def test_production_refuses_to_load_the_demo_store(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("CAREDESK_SEMANTIC_SEARCH", "false")
    monkeypatch.setenv("CAREDESK_ENV", "production")
    monkeypatch.setenv("CAREDESK_MAIL_SIGNING_KEY", STRONG_KEY)
    done = CliRunner().invoke(cli, ["demo", "load", "--customers", "3"])
    assert done.exit_code == 1, done.output
    assert "published password" in done.output
    assert auth.list_agents(container.uow(), SYSTEM) == []  # no admin with that password


def test_development_warns_about_the_built_in_key(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("caredesk")
    logger.addHandler(caplog.handler)  # whatever the structured logging set up before
    try:
        bootstrap(settings).close()
    finally:
        logger.removeHandler(caplog.handler)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("CAREDESK_MAIL_SIGNING_KEY" in m for m in warned), warned


def test_the_desk_hashes_passwords_at_argon2s_recommended_strength(tmp_path: Path) -> None:
    """Only tests hand bootstrap a cheaper hasher (tests/conftest.py): the desk that production
    settings build hashes with argon2id at RFC 9106's low-memory parameters."""
    desk = bootstrap(
        Settings(
            env="production",
            mail_signing_key=STRONG_KEY,
            database_url=f"sqlite:///{tmp_path / 'desk.db'}",
            semantic_search=False,
        )
    )
    try:
        hashed = desk.hasher.hash(PASSWORD)
    finally:
        desk.close()
    assert extract_parameters(hashed) == profiles.RFC_9106_LOW_MEMORY
    assert desk.hasher.verify(hashed, PASSWORD)
    assert not desk.hasher.verify(hashed, PASSWORD + "!")


@pytest.fixture
def production(settings: Settings) -> Settings:
    return settings.model_copy(update={"env": "production", "mail_signing_key": STRONG_KEY})


def _cookies(response: object, name: str) -> list[str]:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    return [h for h in headers if h.startswith(f"{name}=")]


@pytest.mark.parametrize("env", ["production", "development"])
def test_production_cookies_are_secure_and_hsts_is_sent(
    env: str, settings: Settings, container: Container
) -> None:
    chosen = settings.model_copy(update={"env": env, "mail_signing_key": STRONG_KEY})
    desk = bootstrap(chosen, clock=container.clock)
    try:
        auth.create_agent(
            desk.uow(), SYSTEM, desk.hasher, desk.clock.now(),
            email="pat@desk.example", name="Pat", role=Role.AGENT, password=PASSWORD,
        )  # fmt: skip
        with TestClient(
            create_app(container=desk), base_url="https://testserver", follow_redirects=False
        ) as client:
            health = client.get("/healthz")
            page = client.get("/login")
            token = LOGIN_CSRF.search(page.text)
            assert token is not None
            signed_in = client.post(
                "/login",
                data={"email": "pat@desk.example", "password": PASSWORD,
                      "login_csrf": token.group(1)},
            )  # fmt: skip
            assert signed_in.status_code == 303, signed_in.text
            portal = client.get("/portal/sign-in/not-a-real-link")
            api = client.get("/api/v1/cases")
    finally:
        desk.close()
    cookies = [
        *_cookies(page, "caredesk_login_csrf"),
        *_cookies(signed_in, "caredesk_session"),
        *_cookies(portal, "caredesk_portal_login"),
    ]
    assert len(cookies) == 3, cookies
    secure = [("; secure" in c.lower()) for c in cookies]
    hsts = [r.headers.get("strict-transport-security") for r in (health, page, api)]
    if env == "production":
        assert all(secure), cookies
        assert hsts == ["max-age=31536000; includeSubDomains"] * 3
    else:
        assert not any(secure), cookies
        assert hsts == [None] * 3
