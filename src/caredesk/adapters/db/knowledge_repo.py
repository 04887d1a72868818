"""Repositories for articles, known issues, the search index and triage."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from sqlalchemy import Float, Integer, and_, column, delete, func, select, text, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import defer

from caredesk.adapters.db import models as m
from caredesk.adapters.db.repositories import version_conflict
from caredesk.domain.intents import CaseTriage, IntentLabel, IntentModelInfo, LabelSource
from caredesk.domain.knowledge import (
    Article,
    ArticleKind,
    ArticleStatus,
    ArticleVersion,
    KnownIssue,
    Visibility,
)
from caredesk.domain.search import IndexedText, SearchKind
from caredesk.domain.triage import RoutingRule, RoutingRuleSpec
from caredesk.services.knowledge.ports import (
    ArticleFilter,
    IndexState,
    PendingEmbedding,
    StoredEmbedding,
)

TS_CONFIG = "english"
_ITERATE_CHUNK = 500


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
        cursor = after_id or 0
        while len(found) <= limit:
            rows = list(
                self.session.scalars(
                    stmt.where(m.ArticleRow.id > cursor)
                    .order_by(m.ArticleRow.id)
                    .limit(_ITERATE_CHUNK)
                )
            )
            if not rows:
                break
            for row in rows:
                cursor = row.id
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
        after = 0
        while True:
            rows = list(
                self.session.scalars(
                    select(m.ArticleRow)
                    .where(m.ArticleRow.id > after)
                    .order_by(m.ArticleRow.id)
                    .limit(_ITERATE_CHUNK)
                )
            )
            if not rows:
                return
            for row in rows:
                yield _article(row)
            after = rows[-1].id

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


def _fts5_or_query(terms: Sequence[str]) -> str:
    return " OR ".join(f'"{t}"' for t in terms)


class SqlSearchIndexRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def upsert(self, entry: IndexedText, now: datetime) -> None:
        row = self.session.scalar(
            select(m.SearchEntryRow).where(
                m.SearchEntryRow.kind == entry.kind.value, m.SearchEntryRow.ref_id == entry.ref_id
            )
        )
        digest = entry.content_hash
        if row is None:
            row = m.SearchEntryRow(
                kind=entry.kind.value,
                ref_id=entry.ref_id,
                needs_embedding=True,
                content_hash=digest,
            )
            self.session.add(row)
        elif row.content_hash != digest:
            row.needs_embedding = True
        elif row.public != entry.public and row.embedded_at is not None:
            # Same text, other audience: the vectors stay, but the in-memory copies filter
            # by visibility and reload only what was written since they last looked.
            row.embedded_at = now
        row.title = entry.title[:500]
        row.body = entry.body
        row.locale = entry.locale
        row.public = entry.public
        row.content_hash = digest
        row.updated_at = now
        self.session.flush()
        entry.id = row.id

    def remove(self, kind: SearchKind, ref_id: str) -> None:
        self.session.execute(
            delete(m.SearchEntryRow).where(
                m.SearchEntryRow.kind == kind.value, m.SearchEntryRow.ref_id == ref_id
            )
        )

    def lexical(
        self, terms: Sequence[str], kinds: Sequence[SearchKind], public_only: bool, limit: int
    ) -> list[tuple[int, float]]:
        if not terms:
            return []
        filters = []
        if kinds:
            filters.append(m.SearchEntryRow.kind.in_([k.value for k in kinds]))
        if public_only:
            filters.append(m.SearchEntryRow.public.is_(True))
        if self.session.get_bind().dialect.name == "sqlite":
            # bm25() is lower for better matches; titles weigh twice the body.
            hits = (
                text(
                    "SELECT rowid AS entry_id, bm25(search_fts, 2.0, 1.0) AS score "
                    "FROM search_fts WHERE search_fts MATCH :q"
                )
                .bindparams(q=_fts5_or_query(terms))
                .columns(column("entry_id", Integer), column("score", Float))
                .subquery()
            )
            stmt = (
                select(hits.c.entry_id, hits.c.score)
                .join(m.SearchEntryRow, m.SearchEntryRow.id == hits.c.entry_id)
                .where(*filters)
                .order_by(hits.c.score, hits.c.entry_id)
                .limit(limit)
            )
            return [(entry_id, -float(score)) for entry_id, score in self.session.execute(stmt)]
        document = func.to_tsvector(TS_CONFIG, m.SearchEntryRow.title + " " + m.SearchEntryRow.body)
        query = func.to_tsquery(
            TS_CONFIG,
            " | ".join(f"'{t}'" for t in terms if "'" not in t and "\\" not in t) or "''",
        )
        rank = func.ts_rank_cd(document, query, sql_cast(32, Integer))
        stmt = (
            select(m.SearchEntryRow.id, rank)
            .where(document.op("@@")(query), *filters)
            .order_by(rank.desc(), m.SearchEntryRow.id)
            .limit(limit)
        )
        return [(entry_id, float(score)) for entry_id, score in self.session.execute(stmt)]

    def entries(self, ids: Sequence[int]) -> dict[int, IndexedText]:
        if not ids:
            return {}
        rows = self.session.execute(
            select(
                m.SearchEntryRow.id,
                m.SearchEntryRow.kind,
                m.SearchEntryRow.ref_id,
                m.SearchEntryRow.title,
                m.SearchEntryRow.body,
                m.SearchEntryRow.locale,
                m.SearchEntryRow.public,
            ).where(m.SearchEntryRow.id.in_(list(ids)))
        )
        return {
            r.id: IndexedText(
                kind=SearchKind(r.kind),
                ref_id=r.ref_id,
                title=r.title,
                body=r.body,
                locale=r.locale,
                public=r.public,
                id=r.id,
            )
            for r in rows
        }

    def pending(self, limit: int) -> list[PendingEmbedding]:
        rows = self.session.execute(
            select(
                m.SearchEntryRow.id,
                m.SearchEntryRow.title,
                m.SearchEntryRow.body,
                m.SearchEntryRow.content_hash,
            )
            .where(m.SearchEntryRow.needs_embedding.is_(True))
            .order_by(m.SearchEntryRow.id)
            .limit(limit)
        )
        return [PendingEmbedding(r.id, r.title, r.body, r.content_hash) for r in rows]

    def store_embedding(
        self, entry_id: int, content_hash: str, vectors: bytes, model: str, now: datetime
    ) -> bool:
        result = self.session.execute(
            update(m.SearchEntryRow)
            .where(
                and_(
                    m.SearchEntryRow.id == entry_id,
                    m.SearchEntryRow.content_hash == content_hash,
                )
            )
            .values(
                embedding=vectors,
                embedding_model=model,
                embedded_at=now,
                needs_embedding=False,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    def embeddings_since(self, since: datetime | None) -> list[StoredEmbedding]:
        stmt = select(
            m.SearchEntryRow.id,
            m.SearchEntryRow.kind,
            m.SearchEntryRow.public,
            m.SearchEntryRow.embedding,
            m.SearchEntryRow.embedded_at,
        ).where(m.SearchEntryRow.embedding.is_not(None))
        if since is not None:
            stmt = stmt.where(m.SearchEntryRow.embedded_at >= since)
        out = []
        for r in self.session.execute(stmt.order_by(m.SearchEntryRow.id)):
            if r.embedding is None or r.embedded_at is None:
                continue
            out.append(
                StoredEmbedding(r.id, SearchKind(r.kind), r.public, r.embedding, r.embedded_at)
            )
        return out

    def state(self) -> IndexState:
        row = self.session.execute(
            select(
                func.count(m.SearchEntryRow.embedded_at),
                func.max(m.SearchEntryRow.embedded_at),
                func.count(),
                func.count(m.SearchEntryRow.id).filter(m.SearchEntryRow.needs_embedding.is_(True)),
            )
        ).one()
        last = row[1]
        if isinstance(last, str):  # SQLite may hand back the raw text of an aggregate
            last = datetime.fromisoformat(last)
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        return IndexState(int(row[0]), last, int(row[2]), int(row[3]))


class SqlTriageRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def rules(self) -> list[RoutingRule]:
        rows = self.session.scalars(
            select(m.RoutingRuleRow).order_by(m.RoutingRuleRow.position, m.RoutingRuleRow.id)
        )
        return [
            RoutingRule(r.id, r.position, RoutingRuleSpec.model_validate(r.spec), r.version)
            for r in rows
        ]

    def get_rule(self, rule_id: int) -> RoutingRule | None:
        r = self.session.get(m.RoutingRuleRow, rule_id)
        if r is None:
            return None
        return RoutingRule(r.id, r.position, RoutingRuleSpec.model_validate(r.spec), r.version)

    def add_rule(self, rule: RoutingRule, actor: str, now: datetime) -> None:
        row = m.RoutingRuleRow(
            position=rule.position,
            spec=rule.spec.model_dump(mode="json"),
            updated_at=now,
            updated_by=actor,
        )
        self.session.add(row)
        self.session.flush()
        rule.id = row.id
        rule.version = row.version

    def save_rule(self, rule: RoutingRule, actor: str, now: datetime) -> None:
        row = self.session.get(m.RoutingRuleRow, rule.id)
        assert row is not None
        if row.version != rule.version:
            raise version_conflict("routing rule", rule.id, rule.version, row.version)
        row.position = rule.position
        row.spec = rule.spec.model_dump(mode="json")
        row.updated_at = now
        row.updated_by = actor
        self.session.flush()
        rule.version = row.version

    def delete_rule(self, rule_id: int) -> None:
        self.session.execute(delete(m.RoutingRuleRow).where(m.RoutingRuleRow.id == rule_id))

    def add_label(self, label: IntentLabel) -> None:
        row = m.IntentLabelRow(
            case_id=label.case_id,
            text=label.text,
            intent=label.intent,
            source=label.source.value,
            created_by=label.created_by,
            created_at=label.created_at,
        )
        self.session.add(row)
        self.session.flush()
        label.id = row.id

    def labels(self) -> list[IntentLabel]:
        latest = (
            select(func.max(m.IntentLabelRow.id))
            .where(m.IntentLabelRow.case_id.is_not(None))
            .group_by(m.IntentLabelRow.case_id)
        )
        rows = self.session.scalars(
            select(m.IntentLabelRow)
            .where(m.IntentLabelRow.case_id.is_(None) | m.IntentLabelRow.id.in_(latest))
            .order_by(m.IntentLabelRow.id)
        )
        return [
            IntentLabel(
                text=r.text,
                intent=r.intent,
                source=LabelSource(r.source),
                created_by=r.created_by,
                created_at=r.created_at,
                case_id=r.case_id,
                id=r.id,
            )
            for r in rows
        ]

    def add_model(self, info: IntentModelInfo, artifact: bytes) -> None:
        self.session.add(
            m.IntentModelRow(
                version=info.version,
                method=info.method,
                labels=list(info.labels),
                examples=info.examples,
                metrics=dict(info.metrics),
                artifact=artifact,
                trained_at=info.trained_at,
                trained_by=info.trained_by,
                active=False,
            )
        )
        self.session.flush()

    def activate_model(self, version: int) -> None:
        self.session.execute(
            update(m.IntentModelRow)
            .values(active=m.IntentModelRow.version == version)
            .execution_options(synchronize_session=False)
        )

    def _info(self, r: m.IntentModelRow) -> IntentModelInfo:
        return IntentModelInfo(
            version=r.version,
            method=r.method,
            labels=list(r.labels),
            examples=r.examples,
            metrics=dict(r.metrics),
            trained_at=r.trained_at,
            trained_by=r.trained_by,
            active=r.active,
        )

    def models(self) -> list[IntentModelInfo]:
        rows = self.session.scalars(
            select(m.IntentModelRow)
            .options(defer(m.IntentModelRow.artifact))
            .order_by(m.IntentModelRow.version)
        )
        return [self._info(r) for r in rows]

    def active_model(self) -> IntentModelInfo | None:
        row = self.session.scalar(
            select(m.IntentModelRow)
            .options(defer(m.IntentModelRow.artifact))
            .where(m.IntentModelRow.active.is_(True))
        )
        return self._info(row) if row else None

    def model_artifact(self, version: int) -> bytes | None:
        return self.session.scalar(
            select(m.IntentModelRow.artifact).where(m.IntentModelRow.version == version)
        )

    def next_model_version(self) -> int:
        return (
            int(
                self.session.scalar(select(func.coalesce(func.max(m.IntentModelRow.version), 0)))
                or 0
            )
            + 1
        )

    def save_case_triage(self, triage: CaseTriage) -> None:
        row = self.session.get(m.CaseTriageRow, triage.case_id)
        if row is None:
            row = m.CaseTriageRow(case_id=triage.case_id)
            self.session.add(row)
        row.message_id = triage.message_id
        row.intent = triage.intent
        row.intent_confidence = triage.intent_confidence
        row.intent_source = triage.intent_source
        row.model_version = triage.model_version
        row.sentiment = triage.sentiment
        row.public_risk = triage.public_risk
        row.public_risk_confidence = triage.public_risk_confidence
        row.risk_signals = list(triage.risk_signals)
        row.moments = list(triage.moments)
        row.known_issues = list(triage.known_issues)
        row.language = triage.language
        row.rules = list(triage.rules)
        row.suggestions = list(triage.suggestions)
        row.triaged_at = triage.triaged_at
        self.session.flush()

    def case_triage(self, case_id: int) -> CaseTriage | None:
        r = self.session.get(m.CaseTriageRow, case_id)
        if r is None:
            return None
        return CaseTriage(
            case_id=r.case_id,
            triaged_at=r.triaged_at,
            intent=r.intent,
            intent_confidence=r.intent_confidence,
            intent_source=r.intent_source,
            sentiment=r.sentiment,
            public_risk=r.public_risk,
            public_risk_confidence=r.public_risk_confidence,
            language=r.language,
            model_version=r.model_version,
            message_id=r.message_id,
            risk_signals=list(r.risk_signals),
            moments=list(r.moments),
            known_issues=list(r.known_issues),
            rules=list(r.rules),
            suggestions=list(r.suggestions),
        )
