"""/api/docs is whole without the internet: its page names only the desk's own files, which
the desk serves, and its security policy lets nothing else run or load."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.web.api_docs import script_hashes
from caredesk.web.app import create_app

ASSET = re.compile(r'(?:src|href)="([^"]+)"')


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container=container)) as test_client:
        yield test_client


def test_the_page_names_no_other_host(client: TestClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    # No absolute or scheme-relative address at all: nothing outside the desk is named.
    assert re.findall(r"[a-z]+://|//[a-z0-9]", page.text, re.IGNORECASE) == []
    assets = ASSET.findall(page.text)
    assert sorted(assets) == [
        "/api/docs/static/favicon.png",
        "/api/docs/static/swagger-ui-bundle.js",
        "/api/docs/static/swagger-ui.css",
    ]
    assert "url: '/api/v1/openapi.json'" in page.text


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/api/docs/static/swagger-ui-bundle.js", "javascript"),
        ("/api/docs/static/swagger-ui.css", "text/css"),
        ("/api/docs/static/favicon.png", "image/png"),
    ],
)
def test_the_desk_serves_swagger_ui_itself(client: TestClient, path: str, kind: str) -> None:
    asset = client.get(path)
    assert asset.status_code == 200
    assert kind in asset.headers["content-type"]
    assert len(asset.content) > 0


def test_swagger_ui_asks_no_outside_validator(client: TestClient) -> None:
    # Left at its default, Swagger UI sends the document's address to validator.swagger.io.
    assert '"validatorUrl": null' in client.get("/api/docs").text


def test_only_the_page_own_script_may_run(client: TestClient) -> None:
    page = client.get("/api/docs")
    policy = dict(
        part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";")
    )
    hashes = script_hashes(page.text)
    assert len(hashes) == 1
    assert policy["script-src"] == f"'self' {hashes[0]}"
    assert policy["default-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"


def test_the_document_still_lists_the_operations(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/cases" in document["paths"]
    assert not any(path.startswith("/api/docs") for path in document["paths"])
