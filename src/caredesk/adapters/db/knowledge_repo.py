"""Repositories for knowledge articles (with their versions) and known issues.

The known issues, read by the triage of every customer message, are kept per process
(config_cache.py, kind `known_issues`): adding or changing one moves the kind's stamp. So are
the published macros (kind `macros`), which every case page lists: writing any article moves
theirs."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import delete, select
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.adapters.db.config_cache import Cached, ConfigKind, ConfigReads, copied
from caredesk.adapters.db.conflicts import version_conflict
from caredesk.adapters.db.cursors import walk
from caredesk.adapters.db.rows import TableRepository, add_row, from_row, insert, listed, onto_row
from caredesk.domain.knowledge import (
    Article,
    ArticleKind,
    ArticleStatus,
    ArticleVersion,
    KnownIssue,
)
from caredesk.services.knowledge.ports import ArticleFilter


def _published_macros(session: OrmSession) -> tuple[Article, ...]:
    published = select(m.ArticleRow).where(
        m.ArticleRow.kind == ArticleKind.MACRO.value,
        m.ArticleRow.status == ArticleStatus.PUBLISHED.value,
    )
    return tuple(
        from_row(Article, row) for row in session.scalars(published.order_by(m.ArticleRow.id))
    )


# Every case page lists the published macros for its composer; they change when an editor
# writes an article (config_cache.py, kind `macros`).
_MACROS = Cached(ConfigKind.MACROS, _published_macros)


class SqlArticleRepository(TableRepository[Article, m.ArticleRow]):
    entity, table = Article, m.ArticleRow

    def __init__(self, session: OrmSession, config: ConfigReads) -> None:
        super().__init__(session)
        self.config = config

    def add(self, article: Article) -> None:
        super().add(article)
        self.config.changed(ConfigKind.MACROS)

    def get_by_slug(self, slug: str) -> Article | None:
        return self.first(m.ArticleRow.slug == slug)

    def save(self, article: Article, expected_version: int) -> None:
        row = self.session.get(m.ArticleRow, article.id)
        assert row is not None
        if row.version != expected_version:
            raise version_conflict("article", article.id, expected_version, row.version)
        # Its version is the desk's own count (version_id_generator off), so it is written.
        onto_row(article, row, skip=("id",))
        self.session.flush()
        self.config.changed(ConfigKind.MACROS)

    def delete(self, article_id: int) -> None:
        self.session.execute(delete(m.ArticleRow).where(m.ArticleRow.id == article_id))
        self.config.changed(ConfigKind.MACROS)

    def published_macros(self, limit: int) -> list[Article]:
        return [copied(a) for a in self.config.get(_MACROS)[:limit]]

    def find(
        self, filters: ArticleFilter, limit: int, after_id: int | None
    ) -> tuple[list[Article], int | None]:
        stmt = select(m.ArticleRow)
        if filters.kind is not None:
            stmt = stmt.where(m.ArticleRow.kind == filters.kind.value)
        if filters.status is not None:
            stmt = stmt.where(m.ArticleRow.status == filters.status.value)
        if filters.visibility is not None:
            stmt = stmt.where(m.ArticleRow.visibility == filters.visibility.value)
        if filters.locale is not None:
            stmt = stmt.where(m.ArticleRow.locale == filters.locale)
        # Tags and products are JSON lists, matched here so the query stays portable.
        found: list[Article] = []
        for row in walk(self.session, stmt, m.ArticleRow.id, after=after_id or 0):
            if filters.tag is not None and filters.tag not in row.tags:
                continue
            if filters.product_id is not None and filters.product_id not in row.product_ids:
                continue
            found.append(from_row(Article, row))
            if len(found) > limit:
                break
        if len(found) > limit:
            found = found[:limit]
            return found, found[-1].id
        return found, None

    def iterate(self) -> Iterator[Article]:
        for row in walk(self.session, select(m.ArticleRow), m.ArticleRow.id):
            yield from_row(Article, row)

    def add_version(self, version: ArticleVersion) -> None:
        insert(self.session, onto_row(version, m.ArticleVersionRow()))

    def versions(self, article_id: int) -> list[ArticleVersion]:
        kept = m.ArticleVersionRow
        mine = kept.article_id == article_id
        return listed(self.session, ArticleVersion, kept, mine, order_by=kept.version)


def _all_issues(session: OrmSession) -> tuple[KnownIssue, ...]:
    return tuple(listed(session, KnownIssue, m.KnownIssueRow))


_ISSUES = Cached(ConfigKind.KNOWN_ISSUES, _all_issues)


class SqlKnownIssueRepository(TableRepository[KnownIssue, m.KnownIssueRow]):
    entity, table = KnownIssue, m.KnownIssueRow

    def __init__(self, session: OrmSession, config: ConfigReads) -> None:
        super().__init__(session)
        self.config = config

    def add(self, issue: KnownIssue) -> None:
        row = add_row(self.session, issue, m.KnownIssueRow(), skip=("version",))
        issue.version = row.version
        self.config.changed(ConfigKind.KNOWN_ISSUES)

    def get_by_key(self, key: str) -> KnownIssue | None:
        # The case page and triage look issues up by key: from the kept list, not a query.
        return next((copied(i) for i in self.config.get(_ISSUES) if i.key == key), None)

    def save(self, issue: KnownIssue) -> None:
        row = self.session.get(m.KnownIssueRow, issue.id)
        assert row is not None
        if row.version != issue.version:
            raise version_conflict("known issue", issue.id, issue.version, row.version)
        onto_row(issue, row, skip=("id", "version"))
        self.session.flush()
        issue.version = row.version
        self.config.changed(ConfigKind.KNOWN_ISSUES)

    def all(self, active_only: bool = False) -> list[KnownIssue]:
        return [copied(i) for i in self.config.get(_ISSUES) if i.active or not active_only]

    def affecting(self, product_ids: set[str], variant_ids: set[str]) -> list[KnownIssue]:
        return [
            copied(i)
            for i in self.config.get(_ISSUES)
            if i.active and i.affects(product_ids, variant_ids)
        ]
