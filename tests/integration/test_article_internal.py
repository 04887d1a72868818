"""An article's internal notes stay with agents: the portal, the public search, a customer's
token and the reply an agent inserts carry only the public body; the console shows the notes
marked internal. Runs over the demo store's knowledge, on every backend."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from caredesk import demo
from caredesk.adapters.markup import plain_text
from caredesk.bootstrap import Container
from caredesk.demo.schema import ArticleRow
from caredesk.services.channels import portal
from caredesk.services.knowledge import knowledge
from caredesk.services.knowledge.ports import ArticleFilter
from caredesk.web.app import create_app
from tests.integration.conftest import Headers
from tests.integration.knowledge_fixtures import problem
from tests.integration.test_console_pages import (
    AGENT,
    load_console_store,
    sign_in,
    story,
)

# Words that only belong in the desk's own notes, whatever article they come from.
INTERNAL_WORDING = re.compile(r"policy'?s?\b.{0,80}\bprogram\b.{0,40}\bgrants", re.I | re.S)
ARTICLES = demo.knowledge_data().articles
WITH_NOTES = [a for a in ARTICLES if a.internal_notes]
# The known issue's article: what the desk does about it is in its notes.
LABELWRITER_ARTICLE_SLUG = demo.knowledge_data().known_issues[0].article


@pytest.fixture
def store(container: Container) -> Container:
    return load_console_store(container)


@pytest.fixture
def web(store: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container=store), follow_redirects=False) as client:
        yield client


def _words(page: str) -> str:
    """What a reader sees: tags dropped, entities read, spaces folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _sentences(markdown: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.:;])\s+", plain_text(markdown)) if len(s) > 25]


def _assert_keeps_back(text: str, article: ArticleRow) -> None:
    for sentence in _sentences(article.internal_notes):
        assert sentence not in text, (article.slug, sentence)
    assert not INTERNAL_WORDING.search(text), article.slug


def test_the_demo_articles_keep_their_internal_sections_in_the_notes() -> None:
    # The labelwriter article's "what we do" is in its notes, and no body says it.
    for article in ARTICLES:
        body = article.body
        assert "What we do" not in body and "program" not in body, article.slug
        assert not INTERNAL_WORDING.search(body), article.slug
    labelwriter = next(a for a in WITH_NOTES if a.slug == LABELWRITER_ARTICLE_SLUG)
    assert INTERNAL_WORDING.search(labelwriter.internal_notes)


def test_the_portal_and_its_search_show_no_internal_notes(web: TestClient) -> None:
    listing = web.get("/portal/help")
    assert listing.status_code == 200
    for article in WITH_NOTES:
        page = web.get(f"/portal/help/{article.slug}")
        assert page.status_code == 200, article.slug
        text = _words(page.text)
        assert plain_text(article.body)[:60] in text
        _assert_keeps_back(text, article)
        # Searching with the notes' own words finds nothing of them either.
        query = " ".join(plain_text(article.internal_notes).split()[:6])
        found = web.get("/portal/help", params={"q": query})
        assert found.status_code == 200
        # The page repeats the question; the answers must not hold the notes.
        _assert_keeps_back(_words(found.text).replace(query, ""), article)
    _assert_keeps_back(_words(listing.text), WITH_NOTES[0])


def test_a_customer_reads_no_internal_notes_and_an_agent_does(
    web: TestClient, store: Container, agent: Headers
) -> None:
    # Customer-bound tokens reach only the tool API; the portal reads as the customer.
    with store.uow.read_only() as uow:
        case = uow.cases.get(story(store, "LabelWriter"))
        assert case is not None
    reader = portal.portal_actor(case.customer_id)
    for article in WITH_NOTES:
        url = f"/api/v1/articles/{article.slug}"
        as_agent = web.get(url, headers=agent).json()
        assert as_agent["internal_notes"] == article.internal_notes
        seen = knowledge.get_article(store.uow.read_only(), reader, article.slug)
        assert seen.internal_notes == ""
        assert knowledge.internal_html(store.formats, seen) == ""
        assert seen.body == article.body
    listed, _ = knowledge.list_articles(store.uow.read_only(), reader, ArticleFilter(), 50, None)
    assert len(listed) == len(ARTICLES)
    assert {a.internal_notes for a in listed} == {""}


def test_insert_into_reply_carries_the_public_body_and_the_panel_marks_the_notes(
    web: TestClient, store: Container
) -> None:
    case_id = story(store, "LabelWriter")
    sign_in(web, AGENT)
    page = web.get(f"/cases/{case_id}")
    assert page.status_code == 200
    inserts = [html.unescape(v) for v in re.findall(r'data-insert="([^"]*)"', page.text)]
    assert inserts, "the known-issue article offers an insert"
    labelwriter = next(a for a in ARTICLES if a.slug == LABELWRITER_ARTICLE_SLUG)
    assert any("out of production" in text for text in inserts)
    for text in inserts:
        for article in WITH_NOTES:
            _assert_keeps_back(text, article)
    # The agent still reads the decision, set apart and marked internal.
    panel = page.text.split('class="kb-item kb-pinned"', 1)[1].split("</li>", 1)[0]
    assert "data-internal" in panel and "<strong>Internal</strong>" in panel
    assert "labelwriter-upgrade" in panel
    assert INTERNAL_WORDING.search(_words(panel))
    article_page = web.get(f"/knowledge/{_article_id(store, labelwriter.slug)}")
    assert "Internal: for agents only" in article_page.text


def _article_id(store: Container, slug: str) -> int:
    with store.uow.read_only() as uow:
        found = uow.articles.get_by_slug(slug)
        assert found is not None and found.id is not None
        return found.id


def test_internal_notes_are_versioned_and_a_macro_has_none(
    client: TestClient, agent: Headers
) -> None:
    created = client.post(
        "/api/v1/articles",
        json={"title": "Damaged lamp", "body": "Tell us.", "internal_notes": "Refund at once."},
        headers=agent,
    )
    assert created.status_code == 201, created.text
    url = f"/api/v1/articles/{created.json()['id']}"
    changed = client.patch(
        url, json={"version": 1, "internal_notes": "Refund, keep the lamp."}, headers=agent
    )
    assert changed.status_code == 200 and changed.json()["version"] == 2
    history = client.get(f"{url}/versions", headers=agent).json()
    assert [v["internal_notes"] for v in history] == ["Refund at once.", "Refund, keep the lamp."]
    refused = client.post(
        "/api/v1/articles",
        json={"title": "Hello", "kind": "macro", "body": "Hi", "internal_notes": "Be nice."},
        headers=agent,
    )
    body = problem(refused, 422, "validation_error")
    assert "macro" in body["detail"]
    assert client.get("/api/v1/articles?kind=macro", headers=agent).json()["items"] == []
