"""Knowledge base use cases: articles and macros with versions, known issues, import/export."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.errors import (
    DomainError,
    ErrorCode,
    NotFound,
    ValidationFailed,
    must_exist,
)
from caredesk.domain.knowledge import (
    Article,
    ArticleKind,
    ArticleStatus,
    ArticleVersion,
    KnownIssue,
    Visibility,
    normalise_locale,
)
from caredesk.domain.search import IndexedText, SearchKind
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command
from caredesk.services.core.ports import TextFormats
from caredesk.services.core.reads import read, read_one
from caredesk.services.core.templates import check_macro
from caredesk.services.core.updates import Audited, Changes, Update, stored, update_command
from caredesk.services.knowledge.ports import ArticleFilter
from caredesk.services.knowledge.unit import KnowledgeUnit

ARTICLE_FIELDS = frozenset(
    {
        "slug",
        "kind",
        "title",
        "body",
        "internal_notes",
        "tags",
        "product_ids",
        "locale",
        "visibility",
        "status",
    }
)


def _search_kind(article: Article) -> SearchKind:
    return SearchKind.MACRO if article.kind is ArticleKind.MACRO else SearchKind.ARTICLE


def index_article(uow: KnowledgeUnit, article: Article, now: datetime) -> None:
    """Keep the search index in step with the article, in the same transaction."""
    assert article.id is not None
    kind = _search_kind(article)
    other = SearchKind.ARTICLE if kind is SearchKind.MACRO else SearchKind.MACRO
    uow.search.remove(other, str(article.id))
    if not article.searchable:
        uow.search.remove(kind, str(article.id))
        return
    uow.search.upsert(
        IndexedText(
            kind=kind,
            ref_id=str(article.id),
            title=article.title,
            body=uow.formats.plain_text(article.body),
            locale=article.locale,
            public=article.is_public,
        ),
        now,
    )


def internal_html(formats: TextFormats, article: Article) -> str:
    """The internal notes rendered like the body, for agents only."""
    return formats.render_markdown(article.internal_notes) if article.internal_notes.strip() else ""


def _public_view(actor: Actor) -> bool:
    return actor.customer_id is not None


def _check_readable(actor: Actor, article: Article) -> None:
    if _public_view(actor) and not article.is_public:
        raise NotFound("article", article.id)


@command
def create_article(
    uow: KnowledgeUnit,
    actor: Actor,
    now: datetime,
    *,
    title: str,
    body: str,
    internal_notes: str = "",
    slug: str | None = None,
    kind: ArticleKind = ArticleKind.ARTICLE,
    tags: list[str] | None = None,
    product_ids: list[str] | None = None,
    locale: str = "en",
    visibility: Visibility = Visibility.INTERNAL,
    status: ArticleStatus = ArticleStatus.DRAFT,
) -> Article:
    actor.require(Permission.WRITE_CASES)
    article = Article(
        id=None,
        slug=slug or "",
        kind=kind,
        title=title,
        body=body,
        body_html=uow.formats.render_markdown(body),
        internal_notes=internal_notes,
        tags=list(tags or []),
        product_ids=list(product_ids or []),
        locale=locale,
        visibility=visibility,
        status=status,
        author=actor.ref,
        created_at=now,
        updated_at=now,
    )
    if article.is_live:
        actor.require(Permission.PUBLISH)
    if article.kind is ArticleKind.MACRO:
        check_macro(article.body)
    with uow:
        article.slug = _slug_for_new(uow, article.slug, chosen=bool(slug))
        uow.articles.add(article)
        uow.articles.add_version(ArticleVersion.of(article))
        index_article(uow, article, now)
        assert article.id is not None
        publish_change(
            uow, actor, now, "article.created", "article", article.id, after=article.snapshot()
        )
        uow.commit()
    return article


def _slug_for_new(uow: KnowledgeUnit, slug: str, *, chosen: bool) -> str:
    """The slug a new article takes: one the author chose must be free; one made from the
    title gets a number when taken."""
    if uow.articles.get_by_slug(slug) is None:
        return slug
    if chosen:
        raise DomainError(
            f"an article with slug {slug!r} exists",
            code=ErrorCode.CONFLICT,
            details={"field": "slug"},
        )
    return _free_slug(uow, slug)


def _free_slug(uow: KnowledgeUnit, slug: str) -> str:
    for n in range(2, 10_000):
        candidate = f"{slug[:190]}-{n}"
        if uow.articles.get_by_slug(candidate) is None:
            return candidate
    raise DomainError("no free slug left for this title", code=ErrorCode.CONFLICT)


def _apply(formats: TextFormats, article: Article, changes: Changes) -> Article:
    unknown = set(changes) - ARTICLE_FIELDS
    if unknown:
        raise ValidationFailed(f"unknown article fields: {', '.join(sorted(unknown))}")
    # A JSON null is "no value", which no article field may hold; leave a field out instead.
    _refuse_nulls(changes, nullable=frozenset())
    values = {
        "id": article.id,
        "slug": changes.get("slug", article.slug),
        "kind": ArticleKind(changes.get("kind", article.kind)),
        "title": changes.get("title", article.title),
        "body": changes.get("body", article.body),
        "internal_notes": changes.get("internal_notes", article.internal_notes),
        "tags": list(changes.get("tags", article.tags)),
        "product_ids": list(changes.get("product_ids", article.product_ids)),
        "locale": changes.get("locale", article.locale),
        "visibility": Visibility(changes.get("visibility", article.visibility)),
        "status": ArticleStatus(changes.get("status", article.status)),
        "author": article.author,
        "created_at": article.created_at,
        "updated_at": article.updated_at,
        "version": article.version,
    }
    updated = Article(**values)
    updated.body_html = formats.render_markdown(updated.body)
    return updated


def _refuse_nulls(changes: Changes, nullable: frozenset[str]) -> None:
    nulls = sorted(k for k, v in changes.items() if v is None and k not in nullable)
    if nulls:
        raise ValidationFailed(
            f"{', '.join(nulls)} cannot be null; leave a field out to keep it",
            details={"field": nulls[0]},
        )


def _changed_article(
    uow: KnowledgeUnit, actor: Actor, now: datetime, current: Article, changes: Changes
) -> Article | None:
    """A new version of the article; the old one stays in its history."""
    updated = _apply(uow.formats, current, changes)
    if current.is_live or updated.is_live:
        actor.require(Permission.PUBLISH)
    _check_macro_change(current, updated)
    if updated.slug != current.slug:
        holder = uow.articles.get_by_slug(updated.slug)
        if holder is not None and holder.id != current.id:
            raise DomainError(
                f"an article with slug {updated.slug!r} exists",
                code=ErrorCode.CONFLICT,
                details={"field": "slug"},
            )
    if updated.snapshot() == current.snapshot():
        return None
    updated.version = current.version + 1
    updated.author = actor.ref
    updated.updated_at = now
    uow.articles.save(updated, current.version)
    uow.articles.add_version(ArticleVersion.of(updated))
    index_article(uow, updated, now)
    return updated


update_article: Update[KnowledgeUnit, int, Article] = update_command(
    Permission.WRITE_CASES,
    stored("article", lambda u: u.articles.get),
    _changed_article,
    audited=Audited("article", Article.snapshot),
)


def _check_macro_change(current: Article, updated: Article) -> None:
    """A macro is checked whenever its text changes or it goes live; taking a macro saved
    before checks existed out of use (draft, archived) needs no check, so it can be."""
    if updated.kind is not ArticleKind.MACRO:
        return
    if (
        updated.body != current.body
        or current.kind is not ArticleKind.MACRO
        or (updated.is_live and not current.is_live)
    ):
        check_macro(updated.body)


@command
def delete_article(uow: KnowledgeUnit, actor: Actor, now: datetime, article_id: int) -> None:
    actor.require(Permission.WRITE_CATALOG)
    with uow:
        article = must_exist(uow.articles.get(article_id), "article", article_id)
        uow.search.remove(_search_kind(article), str(article_id))
        uow.articles.delete(article_id)
        publish_change(
            uow, actor, now, "article.deleted", "article", article_id, before=article.snapshot()
        )
        uow.commit()


def get_article(uow: KnowledgeUnit, actor: Actor, ref: str) -> Article:
    """By id or by slug."""
    actor.require(Permission.READ)
    with uow:
        article = must_exist(_by_ref(uow, ref), "article", ref)
        _check_readable(actor, article)
        return article.public_part() if _public_view(actor) else article


def _by_ref(uow: KnowledgeUnit, ref: str) -> Article | None:
    if ref.isascii() and ref.isdigit():
        # An id no article can have is simply not found (and never reaches the database).
        return uow.articles.get(int(ref)) if len(ref) <= 19 and int(ref) < 2**63 else None
    return uow.articles.get_by_slug(ref)


def article_history(uow: KnowledgeUnit, actor: Actor, article_id: int) -> list[ArticleVersion]:
    actor.require(Permission.READ)
    if _public_view(actor):
        raise NotFound("article", article_id)
    with uow:
        if uow.articles.get(article_id) is None:
            raise NotFound("article", article_id)
        return uow.articles.versions(article_id)


def list_articles(
    uow: KnowledgeUnit, actor: Actor, filters: ArticleFilter, limit: int, after_id: int | None
) -> tuple[list[Article], int | None]:
    actor.require(Permission.READ)
    # Filter values are read the way articles store them: "pt_BR" finds "pt-BR", "Printers"
    # finds "printers".
    filters = replace(
        filters,
        locale=normalise_locale(filters.locale) if filters.locale is not None else None,
        tag=filters.tag.strip().lower() if filters.tag is not None else None,
    )
    if _public_view(actor):
        # The public sees published public articles whatever it asked for; its other filters
        # still narrow them.
        filters = replace(
            filters,
            kind=ArticleKind.ARTICLE,
            status=ArticleStatus.PUBLISHED,
            visibility=Visibility.PUBLIC,
        )
        with uow:
            found, last = uow.articles.find(filters, limit, after_id)
        return [a.public_part() for a in found], last
    with uow:
        return uow.articles.find(filters, limit, after_id)


def published_macros(uow: KnowledgeUnit, actor: Actor, limit: int) -> list[Article]:
    """The knowledge base's published macros, the first `limit` by id, for an agent's composer
    (none for a customer: macros are the desk's own words)."""
    actor.require(Permission.READ)
    if _public_view(actor):
        return []
    with uow:
        return uow.articles.published_macros(limit)


# Import and export: Markdown folders and JSONL, one article per file or line.


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """An article as a file holds it; `source` says where, for error messages."""

    title: str
    body: str
    source: str
    internal_notes: str = ""
    slug: str | None = None
    kind: str = "article"
    tags: list[str] = field(default_factory=list)
    product_ids: list[str] = field(default_factory=list)
    locale: str = "en"
    visibility: str = "internal"
    status: str = "published"
    external_id: str | None = None


@dataclass(slots=True)
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def import_articles(
    uow_factory: Callable[[], KnowledgeUnit],
    actor: Actor,
    now: datetime,
    records: Iterable[ArticleRecord],
) -> ImportReport:
    """Create or update each record by slug; a bad record is reported and skipped."""
    report = ImportReport()
    for record in records:
        try:
            changes: dict[str, Any] = {
                "title": record.title,
                "body": record.body,
                "internal_notes": record.internal_notes,
                "kind": ArticleKind(record.kind),
                "tags": record.tags,
                "product_ids": record.product_ids,
                "locale": record.locale,
                "visibility": Visibility(record.visibility),
                "status": ArticleStatus(record.status),
            }
            slug = record.slug or (_slug_of(record.external_id) if record.external_id else None)
            with uow_factory() as uow:
                existing = uow.articles.get_by_slug(slug) if slug else None
            if existing is None:
                create_article(uow_factory(), actor, now, slug=slug, **changes)
                report.created += 1
                continue
            assert existing.id is not None
            updated = update_article(
                uow_factory(),
                actor,
                now,
                existing.id,
                expected_version=existing.version,
                changes=changes,
            )
            if updated.version == existing.version:
                report.unchanged += 1
            else:
                report.updated += 1
        except (DomainError, ValueError) as exc:
            report.errors.append(f"{record.source}: {getattr(exc, 'message', exc)}")
    return report


def _slug_of(external_id: str) -> str:
    from caredesk.domain.knowledge import slugify

    return slugify(external_id)


def export_articles(uow: KnowledgeUnit, actor: Actor) -> list[Article]:
    return read(uow, actor, Permission.READ, lambda u: list(u.articles.iterate()))


# Known issues.

ISSUE_FIELDS = frozenset(
    {
        "title",
        "description",
        "product_ids",
        "variant_ids",
        "conditions",
        "article_id",
        "program_id",
        "active",
    }
)


def _check_issue_refs(uow: KnowledgeUnit, issue: KnownIssue) -> None:
    if issue.article_id is not None and uow.articles.get(issue.article_id) is None:
        raise NotFound("article", issue.article_id)
    if issue.program_id is not None:
        from caredesk.services.engine.policy import policy_in_force

        programs = {p.id for p in policy_in_force(uow).policy.programs}
        if issue.program_id not in programs:
            raise ValidationFailed(
                f"program {issue.program_id!r} is not in the policy in force",
                details={"field": "program_id", "programs": sorted(programs)},
            )


@command
def create_known_issue(
    uow: KnowledgeUnit, actor: Actor, now: datetime, *, key: str, title: str, **fields: Any
) -> KnownIssue:
    actor.require(Permission.WRITE_CATALOG)
    unknown = set(fields) - ISSUE_FIELDS
    if unknown:
        raise ValidationFailed(f"unknown known-issue fields: {', '.join(sorted(unknown))}")
    issue = KnownIssue(id=None, key=key, title=title, created_at=now, updated_at=now, **fields)
    with uow:
        if uow.known_issues.get_by_key(issue.key) is not None:
            raise DomainError(
                f"known issue {issue.key!r} exists", code=ErrorCode.CONFLICT, details={"key": key}
            )
        _check_issue_refs(uow, issue)
        uow.known_issues.add(issue)
        publish_change(
            uow, actor, now, "known_issue.created", "known_issue", issue.key, after=issue.snapshot()
        )
        uow.commit()
    return issue


def _refuse_issue_changes(changes: Changes) -> None:
    unknown = set(changes) - ISSUE_FIELDS
    if unknown:
        raise ValidationFailed(f"unknown known-issue fields: {', '.join(sorted(unknown))}")
    # Only the links may be cleared with null; every other field always has a value.
    _refuse_nulls(changes, nullable=frozenset({"article_id", "program_id"}))


def _issue_to_change(
    uow: KnowledgeUnit, actor: Actor, key: str, expected_version: int | None
) -> KnownIssue:
    issue = must_exist(uow.known_issues.get_by_key(key), "known issue", key)
    if expected_version is not None and issue.version != expected_version:
        raise DomainError(
            f"known issue {key} was changed by someone else",
            code=ErrorCode.VERSION_CONFLICT,
            details={"current_version": issue.version, "your_version": expected_version},
        )
    return issue


def _changed_issue(
    uow: KnowledgeUnit, actor: Actor, now: datetime, issue: KnownIssue, changes: Changes
) -> KnownIssue:
    # The snapshot leaves the description out (audit entries stay short): carry it over.
    values = {**issue.snapshot(), "description": issue.description, **changes}
    values.pop("key", None)
    updated = KnownIssue(
        id=issue.id,
        key=issue.key,
        created_at=issue.created_at,
        updated_at=now,
        version=issue.version,
        **values,
    )
    _check_issue_refs(uow, updated)
    uow.known_issues.save(updated)
    return updated


update_known_issue: Update[KnowledgeUnit, str, KnownIssue] = update_command(
    Permission.WRITE_CATALOG,
    _issue_to_change,
    _changed_issue,
    audited=Audited("known_issue", KnownIssue.snapshot),
    # A known issue changed without a version overwrites what is stored.
    version_needed=False,
    refuse=_refuse_issue_changes,
)


def list_known_issues(uow: KnowledgeUnit, actor: Actor) -> list[KnownIssue]:
    return read(uow, actor, Permission.READ, lambda u: u.known_issues.all())


def get_known_issue(uow: KnowledgeUnit, actor: Actor, key: str) -> KnownIssue:
    return read_one(
        uow, actor, Permission.READ, lambda u: u.known_issues.get_by_key(key), "known issue", key
    )
