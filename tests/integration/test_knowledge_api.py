"""The knowledge base through the API: articles with versions, visibility, rendering, errors."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM, Actor, Role
from caredesk.domain.errors import NotFound
from caredesk.services.knowledge import knowledge
from caredesk.services.knowledge.ports import ArticleFilter
from tests.integration.conftest import Headers
from tests.integration.knowledge_fixtures import (
    audit_actions,
    create_article,
    customer_token,
    problem,
)


@pytest.fixture
def lead(token_for: Any) -> Headers:
    headers: Headers = token_for(Role.LEAD)
    return headers


def test_create_read_by_id_and_slug_and_audit(
    client: TestClient, agent: Headers, container: Container
) -> None:
    created = create_article(
        client,
        agent,
        body="# Fix\n\nTurn it **off** and on.",
        tags=["Printers", "macOS"],
        product_ids=["labelwriter-350"],
        locale="pt_BR",
    )
    assert created["version"] == 1
    assert created["status"] == "draft" and created["visibility"] == "internal"
    assert created["slug"] == "label-printer-stopped-after-the-upgrade"
    assert created["locale"] == "pt-BR"
    assert created["product_ids"] == ["labelwriter-350"]
    assert created["author"].startswith("token:")
    assert "<strong>off</strong>" in created["body_html"]
    assert "<h1>Fix</h1>" in created["body_html"]

    by_id = client.get(f"/api/v1/articles/{created['id']}", headers=agent)
    assert by_id.status_code == 200 and by_id.headers["ETag"] == '"1"'
    by_slug = client.get(f"/api/v1/articles/{created['slug']}", headers=agent)
    assert by_slug.json()["id"] == created["id"]
    assert audit_actions(container, "article", created["id"]) == ["article.created"]


def test_versions_keep_history_and_author(
    client: TestClient, agent: Headers, lead: Headers, container: Container
) -> None:
    article = create_article(client, agent)
    url = f"/api/v1/articles/{article['id']}"
    second = client.patch(url, json={"version": 1, "body": "Update the driver."}, headers=lead)
    assert second.status_code == 200, second.text
    assert second.json()["version"] == 2 and second.headers["ETag"] == '"2"'
    third = client.patch(
        url, json={"status": "published"}, headers={**agent, "If-Match": second.headers["ETag"]}
    )
    assert third.json()["version"] == 3

    history = client.get(f"{url}/versions", headers=agent).json()
    assert [v["version"] for v in history] == [1, 2, 3]
    assert [v["body"] for v in history] == [
        "Restart it.",
        "Update the driver.",
        "Update the driver.",
    ]
    assert [v["status"] for v in history] == ["draft", "draft", "published"]
    authors = [v["author"] for v in history]
    assert authors[0] == authors[2] != authors[1]

    # Saving what is already there is not a new version.
    same = client.patch(url, json={"version": 3, "status": "published"}, headers=agent)
    assert same.json()["version"] == 3
    actions = audit_actions(container, "article", article["id"])
    assert actions == ["article.created", "article.updated", "article.updated"]


def test_stale_or_missing_version_is_refused(client: TestClient, agent: Headers) -> None:
    article = create_article(client, agent)
    url = f"/api/v1/articles/{article['id']}"
    assert client.patch(url, json={"version": 1, "title": "New"}, headers=agent).status_code == 200
    body = problem(
        client.patch(url, json={"version": 1, "title": "Old"}, headers=agent),
        409,
        "version_conflict",
    )
    assert body["details"]["current_version"] == 2
    problem(
        client.patch(url, json={"title": "No version"}, headers=agent), 428, "precondition_required"
    )
    assert client.get(url, headers=agent).json()["title"] == "New"


@pytest.mark.one_backend
@pytest.mark.parametrize("field", ["title", "body", "tags", "kind", "status", "locale"])
def test_null_in_a_patch_is_a_clear_error(client: TestClient, agent: Headers, field: str) -> None:
    article = create_article(client, agent)
    response = client.patch(
        f"/api/v1/articles/{article['id']}", json={"version": 1, field: None}, headers=agent
    )
    problem(response, 422, "validation_error")


def test_who_sees_what(
    client: TestClient,
    agent: Headers,
    editor: Headers,
    viewer: Headers,
    lead: Headers,
    container: Container,
    customer: dict[str, Any],
) -> None:
    public = create_article(
        client, editor, title="Returns", visibility="public", status="published"
    )
    internal = create_article(client, agent, title="Escalation path", status="published")
    draft = create_article(client, agent, title="Coming soon", visibility="public")

    # Staff of every role read everything, drafts and internal notes included.
    for headers in (agent, viewer, lead):
        listed = client.get("/api/v1/articles", headers=headers).json()["items"]
        assert {a["id"] for a in listed} == {public["id"], internal["id"], draft["id"]}
    only_public = client.get(
        "/api/v1/articles", params={"visibility": "public", "status": "published"}, headers=viewer
    ).json()["items"]
    assert [a["id"] for a in only_public] == [public["id"]]

    # A viewer reads but does not write; an agent writes but does not delete.
    problem(client.post("/api/v1/articles", json={"title": "x"}, headers=viewer), 403, "forbidden")
    problem(client.delete(f"/api/v1/articles/{public['id']}", headers=agent), 403, "forbidden")

    # A customer's token is kept to the tool API...
    scoped = customer_token(container, customer["id"])
    problem(client.get("/api/v1/articles", headers=scoped), 403, "forbidden")
    problem(client.get(f"/api/v1/articles/{public['id']}", headers=scoped), 403, "forbidden")

    # ...and the services behind any customer-facing page show public, published articles.
    as_customer = Actor(role=Role.VIEWER, customer_id=customer["id"])
    items, _ = knowledge.list_articles(
        container.uow(), as_customer, ArticleFilter(), limit=50, after_id=None
    )
    assert [a.id for a in items] == [public["id"]]
    assert knowledge.get_article(container.uow(), as_customer, str(public["id"])).title == "Returns"
    for hidden in (internal, draft):
        with pytest.raises(NotFound):
            knowledge.get_article(container.uow(), as_customer, str(hidden["id"]))
        with pytest.raises(NotFound):
            knowledge.get_article(container.uow(), as_customer, hidden["slug"])
    with pytest.raises(NotFound):
        knowledge.article_history(container.uow(), as_customer, public["id"])


def test_filters_and_pages(client: TestClient, agent: Headers, editor: Headers) -> None:
    ids = [
        create_article(client, agent, title="Printer driver", tags=["printers"])["id"],
        create_article(client, agent, title="Drucker", locale="de", product_ids=["p-1"])["id"],
        create_article(client, editor, title="Hello", kind="macro", status="published")["id"],
    ]

    def listed(**params: Any) -> list[int]:
        response = client.get("/api/v1/articles", params=params, headers=agent)
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["items"]]

    assert listed(tag="printers") == [ids[0]]
    assert listed(tag=" Printers ") == [ids[0]]
    assert listed(locale="de") == [ids[1]]
    assert listed(locale="DE") == [ids[1]]
    assert listed(product_id="p-1") == [ids[1]]
    assert listed(kind="macro") == [ids[2]]
    assert listed(status="published") == [ids[2]]

    first = client.get("/api/v1/articles", params={"limit": 2}, headers=agent).json()
    assert [a["id"] for a in first["items"]] == ids[:2] and first["next_cursor"]
    rest = client.get(
        "/api/v1/articles", params={"limit": 2, "cursor": first["next_cursor"]}, headers=agent
    ).json()
    assert [a["id"] for a in rest["items"]] == ids[2:] and rest["next_cursor"] is None
    for bad in ({"cursor": "abc"}, {"locale": "not a locale"}):
        problem(client.get("/api/v1/articles", params=bad, headers=agent), 422, "validation_error")


@pytest.mark.one_backend
@pytest.mark.parametrize(
    ("body", "absent", "present"),
    [
        ("Hi <script>alert('x')</script> there", ["<script", "alert("], ["Hi", "there"]),
        ("<img src=x onerror=alert(1)>", ["onerror"], ["<img"]),
        ("[click](javascript:alert(1))", ['href="javascript'], []),
        (
            '<a href="https://example.com" onclick="steal()">ok</a>',
            ["onclick"],
            ["https://example.com"],
        ),
        (
            "<iframe src='https://evil.example'></iframe><style>*{}</style>",
            ["<iframe", "<style"],
            [],
        ),
        ("**never closed *nested <div><b>open [link](", [], ["never closed"]),
        ("| a | b |\n|---|---|\n| 1 | 2 |", [], ["<table>", "<td>1</td>"]),
    ],
)
def test_markdown_is_rendered_and_sanitised(
    client: TestClient, agent: Headers, body: str, absent: list[str], present: list[str]
) -> None:
    html = create_article(client, agent, body=body)["body_html"]
    for fragment in absent:
        assert fragment not in html
    for fragment in present:
        assert fragment in html
    # The source is kept as written: editors see what they typed.
    assert create_article(client, agent, title="again", body=body)["body"] == body


def test_idempotent_post(client: TestClient, agent: Headers) -> None:
    headers = {**agent, "Idempotency-Key": "article-1"}
    payload = {"title": "Refund timing", "body": "Five working days."}
    first = client.post("/api/v1/articles", json=payload, headers=headers)
    again = client.post("/api/v1/articles", json=payload, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(client.get("/api/v1/articles", headers=agent).json()["items"]) == 1
    problem(
        client.post("/api/v1/articles", json={**payload, "body": "Other"}, headers=headers),
        422,
        "idempotency_key_reused",
    )


def test_slugs_are_unique(client: TestClient, agent: Headers) -> None:
    first = create_article(client, agent, title="Same title")
    second = create_article(client, agent, title="Same title")
    assert second["slug"] == f"{first['slug']}-2"
    problem(
        client.post(
            "/api/v1/articles", json={"title": "Other", "slug": first["slug"]}, headers=agent
        ),
        409,
        "conflict",
    )
    problem(
        client.patch(
            f"/api/v1/articles/{second['id']}",
            json={"version": 1, "slug": first["slug"]},
            headers=agent,
        ),
        409,
        "conflict",
    )


@pytest.mark.one_backend
@pytest.mark.parametrize(
    "payload",
    [
        {"title": ""},
        {"title": "   "},
        {"title": "x" * 301},
        {"title": "ok", "body": "x" * 200_001},
        {"title": "ok", "locale": "not a locale!"},
        {"title": "ok", "slug": "Has Spaces"},
        {"title": "ok", "kind": "wiki"},
        {"title": "ok", "visibility": "secret"},
        {"title": "ok", "product_ids": ["has space"]},
        {"title": "ok", "surprise": 1},
    ],
)
def test_bad_articles_are_refused_and_nothing_is_written(
    client: TestClient, agent: Headers, container: Container, payload: dict[str, Any]
) -> None:
    problem(client.post("/api/v1/articles", json=payload, headers=agent), 422, "validation_error")
    assert client.get("/api/v1/articles", headers=agent).json()["items"] == []


def test_delete_removes_the_article_and_is_audited(
    client: TestClient, agent: Headers, lead: Headers, container: Container
) -> None:
    article = create_article(client, agent, status="published")
    url = f"/api/v1/articles/{article['id']}"
    assert client.delete(url, headers=lead).status_code == 204
    problem(client.get(url, headers=agent), 404, "not_found")
    problem(client.delete(url, headers=lead), 404, "not_found")
    problem(client.get("/api/v1/articles/no-such-slug", headers=agent), 404, "not_found")
    assert audit_actions(container, "article", article["id"]) == [
        "article.created",
        "article.deleted",
    ]
    hits = client.get("/api/v1/search", params={"q": "label printer"}, headers=agent).json()
    assert hits["items"] == []


def test_import_creates_updates_and_reports_bad_records(container: Container) -> None:
    def record(n: int, **fields: Any) -> knowledge.ArticleRecord:
        values: dict[str, Any] = {
            "title": f"Imported {n}",
            "body": f"Body {n}",
            "source": f"kb/{n}.md",
            "external_id": f"doc-{n}",
            **fields,
        }
        return knowledge.ArticleRecord(**values)

    now = container.clock.now()
    first = knowledge.import_articles(
        container.uow,
        SYSTEM,
        now,
        [
            record(1),
            record(2, locale="not a locale!"),
            record(3, body="nul\x00byte"),
            record(4, status="pending"),
        ],
    )
    assert (first.created, first.updated, first.unchanged) == (1, 0, 0)
    assert [e.split(":")[0] for e in first.errors] == ["kb/2.md", "kb/3.md", "kb/4.md"]
    again = knowledge.import_articles(
        container.uow, SYSTEM, now, [record(1), record(1, body="Changed")]
    )
    assert (again.created, again.updated, again.unchanged, again.errors) == (0, 1, 1, [])
    exported = knowledge.export_articles(container.uow(), SYSTEM)
    assert [(a.slug, a.body, a.version) for a in exported] == [("doc-1", "Changed", 2)]


HUGE = str(2**70)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/api/v1/articles/{HUGE}", None),
        ("GET", f"/api/v1/articles/{2**63}", None),
        ("GET", "/api/v1/articles/" + "9" * 5000, None),
        ("PATCH", f"/api/v1/articles/{HUGE}", {"version": 1, "title": "x"}),
        ("DELETE", f"/api/v1/articles/{HUGE}", None),
        ("GET", f"/api/v1/articles/{HUGE}/versions", None),
        ("GET", f"/api/v1/articles?cursor={HUGE}", None),
        (
            "POST",
            "/api/v1/known-issues",
            {"key": "k", "title": "t", "product_ids": ["p"], "article_id": 2**70},
        ),
        ("PATCH", "/api/v1/known-issues/k", {"article_id": 2**64}),
        ("GET", f"/api/v1/cases/{HUGE}/suggestions", None),
        ("GET", f"/api/v1/cases/{HUGE}/triage", None),
        ("POST", f"/api/v1/cases/{HUGE}/triage", None),
        ("PUT", f"/api/v1/cases/{HUGE}/intent", {"intent": "refund"}),
        ("PUT", f"/api/v1/routing-rules/{2**40}", {"name": "x", "then": {}, "version": 1}),
        ("DELETE", f"/api/v1/routing-rules/{2**40}", None),
        ("POST", "/api/v1/routing-rules", {"name": "x", "then": {}, "position": 2**40}),
    ],
)
def test_out_of_range_ids_are_a_clear_4xx(
    client: TestClient, admin: Headers, method: str, path: str, body: Any
) -> None:
    response = client.request(method, path, json=body, headers=admin)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
