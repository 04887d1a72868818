"""Knowledge: articles (and macros) with their version history, and known issues.

An article has two parts: its `body`, which anyone it is shown to may read (customers on the
portal, the reply an agent inserts it into), and its `internal_notes`, what the desk does
about it, which only agents read. Keeping them in separate fields means no rendering or
snipping step has to remember to cut the internal part out.

A known issue carries a decision: it names what is affected and under which conditions,
and links to the policy's program (the remedy the company chose) and the article that
explains it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from caredesk.domain.cases import normalise_tags
from caredesk.domain.errors import ValidationFailed, must_match

MAX_TITLE = 300
MAX_BODY = 200_000
_SLUG = re.compile(r"^[a-z0-9][a-z0-9\-]{0,199}$")
_KEY = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,63}$")
# BCP 47-ish: "en", "en-GB", "pt-BR", "und" (undetermined).
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")


class ArticleKind(StrEnum):
    ARTICLE = "article"
    MACRO = "macro"  # a canned reply an agent inserts and adapts


class Visibility(StrEnum):
    INTERNAL = "internal"
    PUBLIC = "public"


class ArticleStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:120].strip("-")
    return slug or "article"


def normalise_locale(locale: str) -> str:
    head, _, rest = locale.strip().replace("_", "-").partition("-")
    value = head.lower() + (f"-{rest}" if rest else "")
    refusal = f"locale {locale!r} is not a language tag like 'en' or 'pt-BR'"
    return must_match(_LOCALE, value, refusal, "locale")


def _refs(values: Iterable[str], field_name: str) -> list[str]:
    cleaned = list(dict.fromkeys(v.strip() for v in values if v and v.strip()))
    for value in cleaned:
        must_match(_REF, value, f"{field_name} entry {value!r} is not an id", field_name)
    return cleaned


@dataclass(slots=True)
class Article:
    id: int | None
    title: str
    body: str
    author: str
    created_at: datetime
    updated_at: datetime
    slug: str = ""
    kind: ArticleKind = ArticleKind.ARTICLE
    tags: list[str] = field(default_factory=list)
    product_ids: list[str] = field(default_factory=list)
    locale: str = "en"
    visibility: Visibility = Visibility.INTERNAL
    status: ArticleStatus = ArticleStatus.DRAFT
    body_html: str = ""
    version: int = 1
    internal_notes: str = ""

    def __post_init__(self) -> None:
        self.title = " ".join(self.title.split())
        if not self.title:
            raise ValidationFailed("an article needs a title", details={"field": "title"})
        if len(self.title) > MAX_TITLE:
            raise ValidationFailed(
                f"title is longer than {MAX_TITLE} characters", details={"field": "title"}
            )
        for name, value in (("body", self.body), ("internal_notes", self.internal_notes)):
            if len(value) > MAX_BODY:
                raise ValidationFailed(
                    f"{name} is longer than {MAX_BODY} characters", details={"field": name}
                )
        if self.internal_notes.strip() and self.kind is ArticleKind.MACRO:
            # A macro is inserted whole into a reply: it has nothing internal to keep back.
            raise ValidationFailed(
                "a macro has no internal notes: everything in it goes into the reply",
                details={"field": "internal_notes"},
            )
        # Files imported from elsewhere may carry NUL, which PostgreSQL text cannot store.
        for name, value in (
            ("title", self.title),
            ("body", self.body),
            ("internal_notes", self.internal_notes),
        ):
            if "\x00" in value:
                raise ValidationFailed(
                    f"the {name} contains a NUL character", details={"field": name}
                )
        self.slug = (self.slug or slugify(self.title)).strip().lower()
        must_match(_SLUG, self.slug, "slug must be 1-200 characters of a-z, 0-9 and '-'", "slug")
        self.tags = normalise_tags(self.tags)
        self.product_ids = _refs(self.product_ids, "product_ids")
        self.locale = normalise_locale(self.locale)

    @property
    def is_public(self) -> bool:
        return self.visibility is Visibility.PUBLIC and self.status is ArticleStatus.PUBLISHED

    @property
    def is_live(self) -> bool:
        """Seen beyond its writers: a public article (by customers) or a published macro (in
        every agent's composer). Making one live, or changing one that is, is publishing."""
        if self.kind is ArticleKind.MACRO:
            return self.status is ArticleStatus.PUBLISHED
        return self.is_public

    def public_part(self) -> Article:
        """The article as a customer may read it: the same, without its internal notes."""
        return dataclasses.replace(self, internal_notes="")

    @property
    def searchable(self) -> bool:
        return self.status is ArticleStatus.PUBLISHED

    def snapshot(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "kind": self.kind.value,
            "title": self.title,
            "body_sha": _short_hash(self.body),
            "internal_notes_sha": _short_hash(self.internal_notes),
            "tags": list(self.tags),
            "product_ids": list(self.product_ids),
            "locale": self.locale,
            "visibility": self.visibility.value,
            "status": self.status.value,
        }


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ArticleVersion:
    """One saved state of an article: who wrote it, when, and what it said."""

    article_id: int
    version: int
    title: str
    body: str
    tags: list[str]
    product_ids: list[str]
    locale: str
    visibility: Visibility
    status: ArticleStatus
    author: str
    created_at: datetime
    internal_notes: str = ""

    @classmethod
    def of(cls, article: Article) -> ArticleVersion:
        assert article.id is not None
        # Every other field is the article's own of the same name: a field added to both is
        # kept in its history without a line here.
        given: dict[str, Any] = {
            "article_id": article.id,
            "created_at": article.updated_at,
            "tags": list(article.tags),
            "product_ids": list(article.product_ids),
        }
        same = {
            f.name: getattr(article, f.name) for f in dataclasses.fields(cls) if f.name not in given
        }
        return cls(**same, **given)


def _condition_pattern(group: str) -> re.Pattern[str]:
    alternatives = [a.strip() for a in group.split("|") if a.strip()]
    if not alternatives:
        raise ValidationFailed(
            "a known-issue condition needs at least one phrase", details={"field": "conditions"}
        )
    body = "|".join(r"\s+".join(map(re.escape, a.lower().split())) for a in alternatives)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


@dataclass(slots=True)
class KnownIssue:
    """A problem the company knows about, what it affects, and what it decided to do.

    `conditions` are phrase groups that must all appear in the case's text; within a group,
    `|` separates alternatives: `["upgrade|updated", "macos|os x|operating system"]`.
    """

    id: int | None
    key: str
    title: str
    created_at: datetime
    updated_at: datetime
    description: str = ""
    product_ids: list[str] = field(default_factory=list)
    variant_ids: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    article_id: int | None = None
    program_id: str | None = None
    active: bool = True
    version: int = 1

    def __post_init__(self) -> None:
        self.key = self.key.strip().lower()
        must_match(_KEY, self.key, "key must be 1-64 characters of a-z, 0-9, _ . -", "key")
        self.title = " ".join(self.title.split())
        if not self.title or len(self.title) > MAX_TITLE:
            raise ValidationFailed(
                f"a known issue needs a title of at most {MAX_TITLE} characters",
                details={"field": "title"},
            )
        self.product_ids = _refs(self.product_ids, "product_ids")
        self.variant_ids = _refs(self.variant_ids, "variant_ids")
        if not self.product_ids and not self.variant_ids:
            raise ValidationFailed(
                "a known issue names the products or variants it affects",
                details={"field": "product_ids"},
            )
        self.conditions = [c.strip() for c in self.conditions if c.strip()]
        for condition in self.conditions:
            _condition_pattern(condition)

    def affects(self, product_ids: set[str], variant_ids: set[str]) -> bool:
        return bool(set(self.product_ids) & product_ids or set(self.variant_ids) & variant_ids)

    def matches_text(self, text: str) -> bool:
        return all(_condition_pattern(c).search(text) for c in self.conditions)

    def matches(self, product_ids: set[str], variant_ids: set[str], text: str) -> bool:
        """The customer owns an affected item and the case describes the issue."""
        return self.active and self.affects(product_ids, variant_ids) and self.matches_text(text)

    def snapshot(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "product_ids": list(self.product_ids),
            "variant_ids": list(self.variant_ids),
            "conditions": list(self.conditions),
            "article_id": self.article_id,
            "program_id": self.program_id,
            "active": self.active,
        }
