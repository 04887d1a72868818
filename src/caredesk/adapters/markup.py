"""Markdown to HTML that is safe to show in the console and the customer portal.

Articles come from people and imports, so the HTML is sanitised after rendering: scripts,
event handlers, `javascript:` links and unknown tags are removed, whatever the input.
"""

from __future__ import annotations

from functools import lru_cache
from html import unescape

import nh3
from markdown_it import MarkdownIt

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre",
    "s", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "th", "thead",
    "tr", "u", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
    "code": {"class"},
}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True, "linkify": False}).enable(
        ["table", "strikethrough"]
    )


def sanitise_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def render_markdown(text: str) -> str:
    """CommonMark (with tables) rendered, then sanitised; never raises on odd input."""
    return sanitise_html(_parser().render(text))


def plain_text(text: str) -> str:
    """The words of a Markdown text, for indexing and snippets: no markup, no tags."""
    html = render_markdown(text)
    return " ".join(unescape(nh3.clean(html, tags=set())).split())
