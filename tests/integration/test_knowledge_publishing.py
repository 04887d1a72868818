"""Macros through the API: checked when saved; and who may publish (editors and admins)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap import Container
from caredesk.domain.agents import Role
from tests.integration.conftest import Headers
from tests.integration.knowledge_fixtures import audit_actions, create_article, problem


@pytest.fixture
def lead(token_for: Any) -> Headers:
    headers: Headers = token_for(Role.LEAD)
    return headers


def _articles(client: TestClient, headers: Headers) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/api/v1/articles", headers=headers).json()["items"]
    return items


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("Hello {{ world", 1, "end of print statement"),
        ("Hi {{ first_name }},\n\nyour order {{ order.id }}", 3, "'.id'"),
        ("Hi {{ first_name }},\n{{ config }}", 2, "unknown variable 'config'"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", 1, "cannot call"),
        ("{% for x in range(10**9) %}x{% endfor %}", 1, "'{% for %}' is not allowed"),
    ],
)
def test_a_macro_that_does_not_work_is_refused_when_created_and_nothing_is_written(
    client: TestClient, editor: Headers, container: Container, body: str, line: int, words: str
) -> None:
    for status in ("draft", "published"):
        response = client.post(
            "/api/v1/articles",
            json={"title": "Broken", "kind": "macro", "status": status, "body": body},
            headers=editor,
        )
        refused = problem(response, 422, "template_invalid")
        assert refused["details"]["field"] == "body"
        assert refused["details"]["line"] == line
        assert words in refused["details"]["problem"]
        assert f"line {line}" in refused["detail"]
    assert _articles(client, editor) == []


def test_a_macro_update_is_checked_and_a_refusal_changes_nothing(
    client: TestClient, agent: Headers, editor: Headers, container: Container
) -> None:
    macro = create_article(client, agent, kind="macro", body="Hi {{ first_name }}")
    url = f"/api/v1/articles/{macro['id']}"
    refused = client.patch(url, json={"version": 1, "body": "Hi {{ first_name }"}, headers=agent)
    assert problem(refused, 422, "template_invalid")["details"]["line"] == 1
    # An article turned into a macro is checked too.
    article = create_article(client, agent, title="Plain", body="Dear {{ customer }}")
    turned = client.patch(
        f"/api/v1/articles/{article['id']}", json={"version": 1, "kind": "macro"}, headers=agent
    )
    assert "unknown variable 'customer'" in problem(turned, 422, "template_invalid")["detail"]
    for created in (macro, article):
        current = client.get(f"/api/v1/articles/{created['id']}", headers=agent).json()
        assert current["version"] == 1 and current["body"] == created["body"]
        assert audit_actions(container, "article", created["id"]) == ["article.created"]
    published = client.patch(url, json={"version": 1, "status": "published"}, headers=editor)
    assert published.status_code == 200, published.text


def test_an_agent_drafts_but_does_not_publish(
    client: TestClient, agent: Headers, container: Container
) -> None:
    for fields in (
        {"kind": "macro", "status": "published", "body": "Hi {{ first_name }}"},
        {"kind": "article", "status": "published", "visibility": "public"},
    ):
        refused = problem(
            client.post(
                "/api/v1/articles", json={"title": "T", "body": "B", **fields}, headers=agent
            ),
            403,
            "forbidden",
        )
        assert refused["details"] == {"permission": "publish", "role": "agent"}
    assert _articles(client, agent) == []

    # Drafts of both, a public draft and an internal article the agent publishes are fine.
    macro = create_article(client, agent, kind="macro", body="Hi {{ first_name }}")
    public_draft = create_article(client, agent, title="Returns", visibility="public")
    internal = create_article(client, agent, title="Escalation path", status="published")
    assert {macro["status"], public_draft["status"], internal["status"]} == {
        "draft",
        "published",
    }
    for article, change in (
        (macro, {"status": "published"}),
        (public_draft, {"status": "published"}),
        (internal, {"visibility": "public"}),
    ):
        response = client.patch(
            f"/api/v1/articles/{article['id']}", json={"version": 1, **change}, headers=agent
        )
        problem(response, 403, "forbidden")
        assert audit_actions(container, "article", article["id"]) == ["article.created"]


def test_what_is_live_is_changed_only_by_a_publisher(
    client: TestClient, agent: Headers, editor: Headers, lead: Headers, admin: Headers
) -> None:
    public = create_article(
        client, editor, title="Returns", visibility="public", status="published"
    )
    macro = create_article(
        client, editor, kind="macro", status="published", body="Hi {{ first_name }}"
    )
    for article in (public, macro):
        url = f"/api/v1/articles/{article['id']}"
        # Neither an agent nor a lead rewrites or withdraws it...
        for headers in (agent, lead):
            for change in ({"body": "Changed"}, {"status": "archived"}):
                response = client.patch(url, json={"version": 1, **change}, headers=headers)
                problem(response, 403, "forbidden")
        # ...an editor and an admin do.
        edited = client.patch(url, json={"version": 1, "title": "Edited"}, headers=editor)
        assert edited.status_code == 200, edited.text
        archived = client.patch(url, json={"version": 2, "status": "archived"}, headers=admin)
        assert archived.status_code == 200, archived.text
        # Once withdrawn, it is a draft-like text any agent may work on again.
        again = client.patch(url, json={"version": 3, "title": "Reworked"}, headers=agent)
        assert again.status_code == 200, again.text


def test_a_macro_saved_before_checks_existed_can_still_be_withdrawn(
    client: TestClient, editor: Headers, container: Container
) -> None:
    from sqlalchemy import update

    from caredesk.adapters.db.models import ArticleRow

    macro = create_article(
        client, editor, kind="macro", status="published", body="Hi {{ first_name }}"
    )
    with container.engine.begin() as conn:
        conn.execute(
            update(ArticleRow).where(ArticleRow.id == macro["id"]).values(body="Hi {{ first_name")
        )
    url = f"/api/v1/articles/{macro['id']}"
    withdrawn = client.patch(url, json={"version": 1, "status": "archived"}, headers=editor)
    assert withdrawn.status_code == 200, withdrawn.text
    republish = client.patch(url, json={"version": 2, "status": "published"}, headers=editor)
    problem(republish, 422, "template_invalid")
    fixed = client.patch(
        url,
        json={"version": 2, "status": "published", "body": "Hi {{ first_name }}"},
        headers=editor,
    )
    assert fixed.status_code == 200, fixed.text


def test_an_editor_is_chosen_like_any_role_and_manages_nothing(
    client: TestClient, admin: Headers, lead: Headers
) -> None:
    created = client.post(
        "/api/v1/agents",
        json={"email": "eve@example.com", "name": "Eve Editor", "role": "editor"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "editor"
    # An editor token, bound to nobody: only Eve herself or the operator binds one to her.
    issued = client.post("/api/v1/tokens", json={"name": "eve", "role": "editor"}, headers=admin)
    assert issued.status_code == 201, issued.text
    eve = {"Authorization": f"Bearer {issued.json()['token']}"}
    assert client.get("/api/v1/me", headers=eve).json()["role"] == "editor"
    problem(client.get("/api/v1/tokens", headers=eve), 403, "forbidden")
    problem(client.delete("/api/v1/articles/1", headers=eve), 403, "forbidden")
    # A lead may not hand out the publishing it does not hold.
    refused = client.post("/api/v1/tokens", json={"name": "x", "role": "editor"}, headers=lead)
    assert refused.status_code == 403, refused.text
