"""The search index: texts with their lexical search and stored embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Table,
    bindparam,
    column,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.adapters.db.rows import columns_for, from_row
from caredesk.adapters.db.search import TS_CONFIG
from caredesk.adapters.db.types import aware_utc
from caredesk.domain.search import IndexedText, SearchKind
from caredesk.services.knowledge.ports import (
    EmbeddingsStamp,
    IndexState,
    NewEmbedding,
    PendingEmbedding,
    StoredEmbedding,
)

# Ids bound into one IN list: well under SQLite's and PostgreSQL's limits on parameters.
_IDS_PER_STATEMENT = 1000


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
            select(*columns_for(m.SearchEntryRow, IndexedText)).where(
                m.SearchEntryRow.id.in_(list(ids))
            )
        )
        return {r.id: from_row(IndexedText, r) for r in rows}

    def pending(self, limit: int) -> list[PendingEmbedding]:
        rows = self.session.execute(
            select(*columns_for(m.SearchEntryRow, PendingEmbedding))
            .where(m.SearchEntryRow.needs_embedding.is_(True))
            .order_by(m.SearchEntryRow.id)
            .limit(limit)
        )
        return [from_row(PendingEmbedding, r) for r in rows]

    def store_embeddings(
        self, embeddings: Sequence[NewEmbedding], model: str, now: datetime
    ) -> None:
        if not embeddings:
            return
        table = cast(Table, m.SearchEntryRow.__table__)
        # One statement for the batch, each row guarded by its text's hash.
        self.session.connection().execute(
            update(table)
            .where(
                table.c.id == bindparam("entry_id"),
                table.c.content_hash == bindparam("hash"),
            )
            .values(
                embedding=bindparam("vectors"),
                embedding_model=model,
                embedded_at=now,
                needs_embedding=False,
            ),
            [{"entry_id": e.id, "hash": e.content_hash, "vectors": e.vectors} for e in embeddings],
        )

    def _stored(self, condition: ColumnElement[bool]) -> list[StoredEmbedding]:
        rows = self.session.execute(
            select(
                m.SearchEntryRow.id,
                m.SearchEntryRow.kind,
                m.SearchEntryRow.public,
                m.SearchEntryRow.embedding,
                m.SearchEntryRow.embedded_at,
            )
            .where(condition, m.SearchEntryRow.embedding.is_not(None))
            .order_by(m.SearchEntryRow.id)
        )
        return [
            StoredEmbedding(r.id, SearchKind(r.kind), r.public, r.embedding, r.embedded_at)
            for r in rows
            if r.embedding is not None and r.embedded_at is not None
        ]

    def embeddings_since(self, since: datetime | None) -> list[StoredEmbedding]:
        if since is None:
            return self._stored(m.SearchEntryRow.embedded_at.is_not(None))
        return self._stored(m.SearchEntryRow.embedded_at >= since)

    def embeddings_stamp(self, since: datetime) -> EmbeddingsStamp:
        # Both aggregates range over ix_search_entries_embedded from `since` on.
        count, latest = self.session.execute(
            select(
                func.count(m.SearchEntryRow.embedded_at), func.max(m.SearchEntryRow.embedded_at)
            ).where(m.SearchEntryRow.embedded_at >= since)
        ).one()
        return EmbeddingsStamp(int(count), aware_utc(latest))

    def embedded_versions(self, since: datetime) -> dict[int, datetime]:
        rows = self.session.execute(
            select(m.SearchEntryRow.id, m.SearchEntryRow.embedded_at).where(
                m.SearchEntryRow.embedded_at >= since
            )
        )
        return {r.id: r.embedded_at for r in rows if r.embedded_at is not None}

    def embeddings(self, ids: Sequence[int]) -> list[StoredEmbedding]:
        found: list[StoredEmbedding] = []
        for start in range(0, len(ids), _IDS_PER_STATEMENT):
            chunk = list(ids[start : start + _IDS_PER_STATEMENT])
            found.extend(self._stored(m.SearchEntryRow.id.in_(chunk)))
        return found

    def state(self) -> IndexState:
        row = self.session.execute(
            select(
                func.count(m.SearchEntryRow.embedded_at),
                func.max(m.SearchEntryRow.embedded_at),
                func.count(),
                func.count(m.SearchEntryRow.id).filter(m.SearchEntryRow.needs_embedding.is_(True)),
            )
        ).one()
        return IndexState(int(row[0]), aware_utc(row[1]), int(row[2]), int(row[3]))
