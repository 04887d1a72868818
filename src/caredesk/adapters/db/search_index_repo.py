"""The search index: texts with their lexical search and stored embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import reduce
from typing import Any, cast

from sqlalchemy import (
    CTE,
    Boolean,
    ColumnElement,
    FromClause,
    Integer,
    ScalarSelect,
    Select,
    String,
    Table,
    Text,
    bindparam,
    case,
    column,
    delete,
    exists,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, REAL, TSVECTOR
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.adapters.db.rows import columns_for, from_row
from caredesk.adapters.db.search import TS_CONFIG
from caredesk.adapters.db.types import aware_utc
from caredesk.domain.search import LEXICAL_CANDIDATES, IndexedText, SearchKind
from caredesk.services.knowledge.ports import (
    EmbeddingsStamp,
    IndexState,
    NewEmbedding,
    PendingEmbedding,
    StoredEmbedding,
)


def _filters(
    entries: FromClause, kinds: Sequence[SearchKind], public_only: bool
) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if kinds:
        filters.append(entries.c.kind.in_([k.value for k in kinds]))
    if public_only:
        filters.append(entries.c.public.is_(True))
    return filters


_LAST_ROWID = 2**63 - 1


class _Fts5:
    """SQLite: the search_fts table (FTS5, kept by triggers), ranked by BM25 with titles
    weighing twice the body. bm25() is lower for better matches: the scores are negated."""

    fts = table("search_fts", column("rowid", Integer))
    entries = cast(Table, m.SearchEntryRow.__table__)

    @staticmethod
    def match(words: Sequence[str]) -> ColumnElement[bool]:
        # Each word quoted (a quote inside doubled), so that none is read as FTS5 syntax.
        phrases = ['"' + word.replace('"', '""') + '"' for word in words]
        return literal_column("search_fts").op("MATCH")(" OR ".join(phrases))

    def only_if_rare(self, rare: CTE, position: int) -> ColumnElement[bool]:
        # A condition on no row is checked on each row, after FTS5 has read all the texts of
        # the word; a bound on the rowid is handed to FTS5 before, and 0 stops it at once.
        bound = case((_is_rare(rare, position), _LAST_ROWID), else_=0)
        return self.fts.c.rowid <= bound

    def ranked(
        self, words: Sequence[str], kinds: Sequence[SearchKind], public_only: bool, limit: int
    ) -> Select[int, float]:
        rowid = self.fts.c.rowid
        rare = _rare_words([_counted(select(rowid).where(self.match([w]))) for w in words])
        filters = _filters(self.entries, kinds, public_only)
        joined = self.fts.join(self.entries, self.entries.c.id == rowid)
        score = func.bm25(literal_column("search_fts"), 2.0, 1.0)
        # The newest texts holding any word, scored as FTS5 reads them.
        newest = (
            select(rowid.label("entry_id"), score.label("score"))
            .select_from(joined)
            .where(self.match(words), *filters)
            .order_by(rowid.desc())
            .limit(LEXICAL_CANDIDATES)
            .subquery("newest")
        )
        # The texts of the rare words, whatever their age, scored on a pass over every text
        # that holds any word (FTS5 scores a text only as it reads it): a pass only a query
        # with a rare word makes. `rowid + 0` is checked on each text in turn; given a plain
        # `rowid IN`, FTS5 would run the whole query again for every text.
        holding_rare = union_all(
            *(
                select(rowid).where(self.match([word]), self.only_if_rare(rare, position))
                for position, word in enumerate(words)
            )
        )
        any_rare = case((exists(select(rare.c.word)), _LAST_ROWID), else_=0)
        of_rare_words = (
            select(rowid, score)
            .select_from(joined)
            .where(self.match(words), rowid <= any_rare, (rowid + 0).in_(holding_rare), *filters)
        )
        both = union_all(select(newest.c.entry_id, newest.c.score), of_rare_words).subquery()
        # A text may be among both, with the same score.
        best = func.min(both.c.score)
        return (
            select(both.c.entry_id, -best)
            .group_by(both.c.entry_id)
            .order_by(best, both.c.entry_id)
            .limit(limit)
        )


class _TsVector:
    """PostgreSQL: the stored `lexemes` tsvector (titles weighted A, bodies B) and its GIN
    index, ranked by ts_rank with titles weighing twice the body."""

    # The column is PostgreSQL's alone, so the shared model does not declare it.
    entries = table(
        "search_entries",
        column("id", Integer),
        column("kind", String),
        column("public", Boolean),
        column("lexemes", TSVECTOR),
    )
    weights: ColumnElement[Any] = literal_column("'{0.1, 0.2, 0.5, 1.0}'::float4[]")

    @staticmethod
    def query(words: Sequence[str]) -> ColumnElement[Any]:
        """The words ORed, each parsed and stemmed as a plain word, never as syntax."""
        parsed = [func.plainto_tsquery(TS_CONFIG, word) for word in words]
        return reduce(lambda left, right: left.op("||")(right), parsed)

    @staticmethod
    def match(entries: FromClause, words: Sequence[str]) -> ColumnElement[bool]:
        return entries.c.lexemes.op("@@")(_TsVector.query(words))

    @staticmethod
    def lexeme_statistics() -> CTE:
        """What ANALYZE keeps on `lexemes`: its commonest lexemes, the share of rows holding
        each, and the table's rows; no row for a table never analysed."""
        stats = table(
            "pg_stats",
            column("schemaname", String),
            column("tablename", String),
            column("attname", String),
            column("most_common_elems", String),
            column("most_common_elem_freqs", ARRAY(REAL)),
        )
        relation = table("pg_class", column("oid", Integer), column("reltuples", REAL))
        return (
            select(
                stats.c.most_common_elems.cast(Text).cast(ARRAY(Text)).label("lexemes"),
                stats.c.most_common_elem_freqs.label("shares"),
                relation.c.reltuples.label("texts"),
            )
            .select_from(stats.join(relation, relation.c.oid == text("'search_entries'::regclass")))
            .where(
                stats.c.schemaname == func.current_schema(),
                stats.c.tablename == "search_entries",
                stats.c.attname == "lexemes",
            )
            .cte("lexeme_statistics")
        )

    @staticmethod
    def estimated_texts(statistics: CTE, word: str) -> ScalarSelect[float]:
        """How many texts hold the word by those statistics; NULL when they list no share
        for its one lexeme (a rarer word, or a table never analysed)."""
        lexemes = func.tsvector_to_array(func.to_tsvector(TS_CONFIG, word), type_=ARRAY(Text))
        one_lexeme = case((func.cardinality(lexemes) == 1, lexemes[1]), else_=None)
        position = func.array_position(statistics.c.lexemes, one_lexeme)
        return select(statistics.c.shares[position] * statistics.c.texts).scalar_subquery()

    def score(self, entries: FromClause, words: Sequence[str]) -> ColumnElement[float]:
        return func.ts_rank(self.weights, entries.c.lexemes, self.query(words), 32).label("score")

    def ranked(
        self, words: Sequence[str], kinds: Sequence[SearchKind], public_only: bool, limit: int
    ) -> Select[int, float]:
        entries = self.entries
        counter = entries.alias("counted")
        statistics = self.lexeme_statistics()
        rare = _rare_words(
            [
                case(
                    (
                        self.estimated_texts(statistics, word)
                        > COMMON_ESTIMATE * LEXICAL_CANDIDATES,
                        LEXICAL_CANDIDATES + 1,
                    ),
                    else_=_counted(select(counter.c.id).where(self.match(counter, [word]))),
                )
                for word in words
            ]
        )
        # Each candidate is scored on the row its scan reads: looking the candidates up again
        # by id to rank them cost an index probe and a heap visit each, 2,000 a common word.
        newer = entries.alias("newer")
        newest = (
            select(newer.c.id, self.score(newer, words))
            .where(self.match(newer, words), *_filters(newer, kinds, public_only))
            .order_by(newer.c.id.desc())
            .limit(LEXICAL_CANDIDATES)
            .subquery("newest")
        )
        holders = [entries.alias(f"holder_{position}") for position in range(len(words))]
        candidates = union_all(
            *(
                select(holder.c.id, self.score(holder, words)).where(
                    self.match(holder, [word]),
                    _is_rare(rare, position),
                    *_filters(holder, kinds, public_only),
                )
                for position, (word, holder) in enumerate(zip(words, holders, strict=True))
            ),
            select(newest.c.id, newest.c.score),
        ).subquery("candidates")
        # A text may be among several, with the same score.
        best = func.max(candidates.c.score)
        return (
            select(candidates.c.id, best)
            .group_by(candidates.c.id)
            .order_by(best.desc(), candidates.c.id)
            .limit(limit)
        )


# PostgreSQL: a word whose texts ANALYZE's statistics put at more than this many times
# LEXICAL_CANDIDATES is common without counting them, a count that read hundreds of rows (a
# word in 10 % of the texts, 11,000 rows read to find 2,001). The statistics come from a
# sample of 30,000 rows and are renewed as autovacuum analyses the table; a word they do not
# list, or put lower, is counted as before.
COMMON_ESTIMATE = 2


def _counted(holding: Select[int]) -> ScalarSelect[int]:
    """How many rows `holding` finds, counted no further than a word can be rare."""
    limited = holding.limit(LEXICAL_CANDIDATES + 1).subquery()
    return select(func.count()).select_from(limited).scalar_subquery()


def _rare_words(texts_per_word: Sequence[ColumnElement[int]]) -> CTE:
    """The positions of the query's rarest words whose texts number at most
    LEXICAL_CANDIDATES together, rarest first: each one's texts are all candidates. In the
    ranking statement itself, so that a search stays one round trip."""
    per_word = union_all(
        *(
            select(literal(position).label("word"), texts.label("texts"))
            for position, texts in enumerate(texts_per_word)
        )
    ).subquery("per_word")
    rarest_first = (per_word.c.texts, per_word.c.word)
    running = select(
        per_word.c.word,
        per_word.c.texts,
        func.sum(per_word.c.texts).over(order_by=rarest_first).label("total"),
    ).subquery("running")
    return (
        select(running.c.word)
        .where(running.c.texts > 0, running.c.total <= LEXICAL_CANDIDATES)
        .cte("rare_words")
    )


def _is_rare(rare: CTE, position: int) -> ColumnElement[bool]:
    # Depends on no row: PostgreSQL decides it once, and skips a common word's scan.
    return literal(position).in_(select(rare.c.word))


# Ids bound into one IN list: well under SQLite's and PostgreSQL's limits on parameters.
_IDS_PER_STATEMENT = 1000


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
        words = list(dict.fromkeys(terms))
        if not words:
            return []
        lexical = _Fts5() if self.session.get_bind().dialect.name == "sqlite" else _TsVector()
        stmt = lexical.ranked(words, kinds, public_only, limit)
        return [(int(entry_id), float(score)) for entry_id, score in self.session.execute(stmt)]

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

    def embeddings_stamp(self, since: datetime, most: int) -> EmbeddingsStamp:
        # Read backwards through ix_search_entries_embedded, from the latest, `most` at most.
        newest = (
            select(m.SearchEntryRow.embedded_at)
            .where(m.SearchEntryRow.embedded_at >= since)
            .order_by(m.SearchEntryRow.embedded_at.desc())
            .limit(most)
            .subquery()
        )
        count, latest = self.session.execute(
            select(func.count(), func.max(newest.c.embedded_at))
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
