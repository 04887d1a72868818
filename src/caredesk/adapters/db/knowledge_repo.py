"""Repositories for knowledge articles (with their versions) and known issues."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import delete, select
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.adapters.db.conflicts import version_conflict
from caredesk.adapters.db.cursors import walk
from caredesk.domain.knowledge import (
    Article,
    ArticleKind,
    ArticleStatus,
    ArticleVersion,
    KnownIssue,
    Visibility,
)
from caredesk.services.knowledge.ports import (
    ArticleFilter,
)


def _article(row: m.ArticleRow) -> Article:
    return Article(
        id=row.id,
        slug=row.slug,
        kind=ArticleKind(row.kind),
        title=row.title,
        body=row.body,
        body_html=row.body_html,
        internal_notes=row.internal_notes,
        tags=list(row.tags),
        product_ids=list(row.product_ids),
        locale=row.locale,
        visibility=Visibility(row.visibility),
        status=ArticleStatus(row.status),
        author=row.author,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _article_onto(article: Article, row: m.ArticleRow) -> None:
    row.slug = article.slug
    row.kind = article.kind.value
    row.title = article.title
    row.body = article.body
    row.body_html = article.body_html
    row.internal_notes = article.internal_notes
    row.tags = list(article.tags)
    row.product_ids = list(article.product_ids)
    row.locale = article.locale
    row.visibility = article.visibility.value
    row.status = article.status.value
    row.author = article.author
    row.created_at = article.created_at
    row.updated_at = article.updated_at
    row.version = article.version


class SqlArticleRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def add(self, article: Article) -> None:
        row = m.ArticleRow()
        _article_onto(article, row)
        self.session.add(row)
        self.session.flush()
        article.id = row.id

    def get(self, article_id: int) -> Article | None:
        row = self.session.get(m.ArticleRow, article_id)
        return _article(row) if row else None

    def get_by_slug(self, slug: str) -> Article | None:
        row = self.session.scalar(select(m.ArticleRow).where(m.ArticleRow.slug == slug))
        return _article(row) if row else None

    def save(self, article: Article, expected_version: int) -> None:
        row = self.session.get(m.ArticleRow, article.id)
        assert row is not None
        if row.version != expected_version:
            raise version_conflict("article", article.id, expected_version, row.version)
        _article_onto(article, row)
        self.session.flush()

    def delete(self, article_id: int) -> None:
        self.session.execute(delete(m.ArticleRow).where(m.ArticleRow.id == article_id))

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
            found.append(_article(row))
            if len(found) > limit:
                break
        if len(found) > limit:
            found = found[:limit]
            return found, found[-1].id
        return found, None

    def iterate(self) -> Iterator[Article]:
        for row in walk(self.session, select(m.ArticleRow), m.ArticleRow.id):
            yield _article(row)

    def add_version(self, version: ArticleVersion) -> None:
        self.session.add(
            m.ArticleVersionRow(
                article_id=version.article_id,
                version=version.version,
                title=version.title,
                body=version.body,
                internal_notes=version.internal_notes,
                tags=list(version.tags),
                product_ids=list(version.product_ids),
                locale=version.locale,
                visibility=version.visibility.value,
                status=version.status.value,
                author=version.author,
                created_at=version.created_at,
            )
        )
        self.session.flush()

    def versions(self, article_id: int) -> list[ArticleVersion]:
        rows = self.session.scalars(
            select(m.ArticleVersionRow)
            .where(m.ArticleVersionRow.article_id == article_id)
            .order_by(m.ArticleVersionRow.version)
        )
        return [
            ArticleVersion(
                article_id=r.article_id,
                version=r.version,
                title=r.title,
                body=r.body,
                internal_notes=r.internal_notes,
                tags=list(r.tags),
                product_ids=list(r.product_ids),
                locale=r.locale,
                visibility=Visibility(r.visibility),
                status=ArticleStatus(r.status),
                author=r.author,
                created_at=r.created_at,
            )
            for r in rows
        ]


def _issue(row: m.KnownIssueRow) -> KnownIssue:
    return KnownIssue(
        id=row.id,
        key=row.key,
        title=row.title,
        description=row.description,
        product_ids=list(row.product_ids),
        variant_ids=list(row.variant_ids),
        conditions=list(row.conditions),
        article_id=row.article_id,
        program_id=row.program_id,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _issue_onto(issue: KnownIssue, row: m.KnownIssueRow) -> None:
    row.key = issue.key
    row.title = issue.title
    row.description = issue.description
    row.product_ids = list(issue.product_ids)
    row.variant_ids = list(issue.variant_ids)
    row.conditions = list(issue.conditions)
    row.article_id = issue.article_id
    row.program_id = issue.program_id
    row.active = issue.active
    row.created_at = issue.created_at
    row.updated_at = issue.updated_at


class SqlKnownIssueRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def add(self, issue: KnownIssue) -> None:
        row = m.KnownIssueRow()
        _issue_onto(issue, row)
        self.session.add(row)
        self.session.flush()
        issue.id = row.id
        issue.version = row.version

    def get(self, issue_id: int) -> KnownIssue | None:
        row = self.session.get(m.KnownIssueRow, issue_id)
        return _issue(row) if row else None

    def get_by_key(self, key: str) -> KnownIssue | None:
        row = self.session.scalar(select(m.KnownIssueRow).where(m.KnownIssueRow.key == key))
        return _issue(row) if row else None

    def save(self, issue: KnownIssue) -> None:
        row = self.session.get(m.KnownIssueRow, issue.id)
        assert row is not None
        if row.version != issue.version:
            raise version_conflict("known issue", issue.id, issue.version, row.version)
        _issue_onto(issue, row)
        self.session.flush()
        issue.version = row.version

    def all(self, active_only: bool = False) -> list[KnownIssue]:
        stmt = select(m.KnownIssueRow).order_by(m.KnownIssueRow.id)
        if active_only:
            stmt = stmt.where(m.KnownIssueRow.active.is_(True))
        return [_issue(r) for r in self.session.scalars(stmt)]

    def affecting(self, product_ids: set[str], variant_ids: set[str]) -> list[KnownIssue]:
        # Few known issues are active at once; matching the JSON lists here stays portable.
        return [i for i in self.all(active_only=True) if i.affects(product_ids, variant_ids)]
