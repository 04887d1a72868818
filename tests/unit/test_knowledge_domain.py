"""Articles, known issues and Markdown rendering without I/O."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from caredesk.adapters.markup import plain_text, render_markdown, sanitise_html
from caredesk.domain.errors import ValidationFailed
from caredesk.domain.knowledge import (
    Article,
    ArticleStatus,
    ArticleVersion,
    KnownIssue,
    Visibility,
    normalise_locale,
    slugify,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def article(**fields: Any) -> Article:
    values: dict[str, Any] = {
        "id": 1,
        "title": "Label printer",
        "body": "Body",
        "author": "agent:1",
        "created_at": NOW,
        "updated_at": NOW,
        **fields,
    }
    return Article(**values)


def issue(**fields: Any) -> KnownIssue:
    values: dict[str, Any] = {
        "id": 1,
        "key": "printer-os",
        "title": "Printer fails after the OS upgrade",
        "created_at": NOW,
        "updated_at": NOW,
        "product_ids": ["printer-350"],
        "conditions": ["upgrade|updated|update", "macos|os x|operating system"],
        **fields,
    }
    return KnownIssue(**values)


# Markdown to safe HTML.


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
        "<img src=x onerror=alert(1)>",
        "<a href='javascript:alert(1)'>x</a>",
        "[x](javascript:alert(1))",
        "<svg onload=alert(1)>",
        "<iframe src=https://evil.example></iframe>",
        '<div style="background:url(javascript:alert(1))">x</div>',
        "<scr<script>ipt>alert(1)</script>",
        "<a href='data:text/html;base64,PHNjcmlwdD4='>x</a>",
    ],
)
def test_nothing_executable_survives(source: str) -> None:
    html = render_markdown(source).lower()
    for bad in ("<script", "onerror", "onload", "<iframe", "<svg", "style="):
        assert bad not in html
    # Such a URL may stay as visible text, never as a link target.
    assert not re.search(r"(href|src)=\S*(javascript|data):", html)


def test_markdown_features_render() -> None:
    html = render_markdown("# T\n\n*a* **b** `c` ~~d~~\n\n- x\n\n| h |\n|---|\n| v |\n")
    for fragment in (
        "<h1>T</h1>",
        "<em>a</em>",
        "<strong>b</strong>",
        "<code>c</code>",
        "<s>d</s>",
    ):
        assert fragment in html
    assert "<li>x</li>" in html and "<td>v</td>" in html
    link = render_markdown("[site](https://example.com)")
    assert 'href="https://example.com"' in link and "noopener" in link


@pytest.mark.parametrize(
    "source", ["**open *never closed", "<div><b><i>", "[link](", "```\nunterminated", "\x00", "]]]"]
)
def test_malformed_input_renders_without_error(source: str) -> None:
    html = render_markdown(source)
    assert isinstance(html, str)
    assert sanitise_html(html) == html  # already clean


def test_plain_text_has_no_markup() -> None:
    source = "# Title\n\n<script>x()</script>\n\n**bold** &amp; [l](https://e.com)"
    assert plain_text(source) == "Title bold & l"


# Articles.


def test_article_normalises_its_fields() -> None:
    a = article(
        title="  Label   printer  ",
        tags=["B", "a", "a"],
        locale="en_GB",
        product_ids=["p1", "p1", " "],
    )
    assert a.title == "Label printer"
    assert a.slug == "label-printer"
    assert a.tags == ["a", "b"]
    assert a.locale == "en-GB"
    assert a.product_ids == ["p1"]


def test_slugs() -> None:
    assert slugify("Crème brûlée: how to?") == "creme-brulee-how-to"
    assert slugify("!!!") == "article"
    assert len(slugify("x" * 500)) <= 120


@pytest.mark.parametrize(
    "fields",
    [
        {"title": " "},
        {"title": "x" * 301},
        {"body": "x" * 200_001},
        {"slug": "Not A Slug"},
        {"locale": "english please"},
        {"tags": ["no spaces allowed"]},
        {"product_ids": ["bad id!"]},
        {"body": "imported\x00binary"},
        {"title": "nul\x00"},
    ],
)
def test_bad_articles(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed):
        article(**fields)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("EN", "en"), ("pt_BR", "pt-BR"), ("und", "und"), ("zh-Hant-TW", "zh-Hant-TW")],
)
def test_locales(locale: str, expected: str) -> None:
    assert normalise_locale(locale) == expected


def test_only_published_public_articles_are_public() -> None:
    assert article(visibility=Visibility.PUBLIC, status=ArticleStatus.PUBLISHED).is_public
    assert not article(visibility=Visibility.PUBLIC, status=ArticleStatus.DRAFT).is_public
    assert not article(visibility=Visibility.INTERNAL, status=ArticleStatus.PUBLISHED).is_public
    assert article(status=ArticleStatus.PUBLISHED).searchable
    assert not article(status=ArticleStatus.ARCHIVED).searchable


def test_snapshot_and_version_follow_the_article() -> None:
    a = article(version=3)
    b = article(version=3, body="Other body")
    assert a.snapshot() != b.snapshot()
    assert a.snapshot()["body_sha"] != b.snapshot()["body_sha"]
    version = ArticleVersion.of(a)
    assert (version.version, version.author, version.body) == (3, "agent:1", "Body")


def test_a_version_keeps_every_field_of_the_article_it_saves() -> None:
    later = NOW + timedelta(hours=2)
    a = article(
        id=7,
        version=2,
        tags=["printer"],
        product_ids=["printer-350"],
        locale="de",
        visibility=Visibility.PUBLIC,
        status=ArticleStatus.PUBLISHED,
        internal_notes="Ask for the serial number.",
        updated_at=later,
    )
    version = ArticleVersion.of(a)
    assert version == ArticleVersion(
        article_id=7,
        version=2,
        title="Label printer",
        body="Body",
        tags=["printer"],
        product_ids=["printer-350"],
        locale="de",
        visibility=Visibility.PUBLIC,
        status=ArticleStatus.PUBLISHED,
        author="agent:1",
        created_at=later,
        internal_notes="Ask for the serial number.",
    )
    assert version.tags is not a.tags and version.product_ids is not a.product_ids


# Known issues.


def test_known_issue_matches_owner_and_text() -> None:
    known = issue()
    text = "My label printer stopped printing after I updated macOS"
    assert known.matches({"printer-350"}, set(), text)
    assert not known.matches({"kettle"}, set(), text)  # does not own the product
    assert not known.matches({"printer-350"}, set(), "My printer jams")  # another problem
    assert known.matches({"printer-350"}, set(), "after the UPGRADE of the operating   system")
    # Phrases match whole words only.
    assert not known.matches({"printer-350"}, set(), "upgraded to macosx")


def test_known_issue_by_variant_and_when_inactive() -> None:
    known = issue(product_ids=[], variant_ids=["printer-350-white"], conditions=[])
    assert known.matches(set(), {"printer-350-white"}, "anything")
    assert not known.matches({"printer-350"}, {"printer-350-black"}, "anything")
    known.active = False
    assert not known.matches(set(), {"printer-350-white"}, "anything")


def test_condition_phrases_are_text_not_patterns() -> None:
    known = issue(conditions=["v1.2 (beta)"])
    assert known.matches({"printer-350"}, set(), "running v1.2 (beta) firmware")
    assert not known.matches({"printer-350"}, set(), "running v1x2 beta firmware")


@pytest.mark.parametrize(
    "fields",
    [
        {"key": "Has Space"},
        {"title": ""},
        {"product_ids": [], "variant_ids": []},
        {"conditions": ["|  |"]},
    ],
)
def test_bad_known_issues(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed):
        issue(**fields)
