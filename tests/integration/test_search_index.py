"""The search index on each database, at the seams that decide how it scales: what a query
reads, which indexes its statements use (EXPLAIN), and that results stay best first and
filtered."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from caredesk.adapters.db import search_index_repo
from caredesk.adapters.vector_index import RECHECK, InMemoryVectorIndex
from caredesk.bootstrap import Container
from caredesk.domain.agents import SYSTEM
from caredesk.domain.search import IndexedText, SearchKind, SearchMode, passages
from caredesk.services.knowledge import search
from caredesk.services.knowledge.ports import Vectors
from caredesk.services.knowledge.search import Semantic
from tests.conftest import ManualClock
from tests.integration.knowledge_fixtures import CountingEmbedder
from tests.integration.statements import query_plan, reads, sent_with_parameters


def _index(container: Container, texts: Sequence[IndexedText]) -> None:
    with container.uow() as uow:
        for text in texts:
            uow.search.upsert(text, container.clock.now())
        uow.commit()


def _article(number: int, body: str, *, public: bool = True) -> IndexedText:
    return IndexedText(
        kind=SearchKind.ARTICLE,
        ref_id=str(number),
        title=f"Article {number}",
        body=body,
        public=public,
    )


def test_a_semantic_query_reads_recent_embeddings_and_only_the_hits_it_shows(
    container: Container,
) -> None:
    fake = CountingEmbedder()
    _index(container, [_article(n, f"refund parcel number {n}") for n in range(1, 31)])
    search.embed_pending(container.uow, fake, container.clock.now)
    semantic = Semantic(fake, InMemoryVectorIndex(fake.dimensions))
    query = {"mode": SearchMode.SEMANTIC, "semantic": semantic, "limit": 3}
    search.search(container.uow.read_only(), SYSTEM, "refund", **query)  # loads the vectors

    with sent_with_parameters(container.engine) as sent:
        result = search.search(container.uow.read_only(), SYSTEM, "refund", **query)
    assert len(result.hits) == 3
    # Whether anything was embedded since (an index range, however large the table), then
    # the three texts shown: not the whole candidate pool.
    (stamp, stamp_parameters), (_, shown) = reads(sent)
    assert "ix_search_entries_embedded" in query_plan(container.engine, stamp, stamp_parameters)
    assert len(shown) == 3


def test_a_text_removed_long_after_it_was_embedded_leaves_the_semantic_results(
    container: Container, clock: ManualClock
) -> None:
    fake = CountingEmbedder()
    _index(container, [_article(1, "refund to the original card")])
    search.embed_pending(container.uow, fake, clock.now)
    clock.advance(seconds=RECHECK.total_seconds() * 6)
    _index(container, [_article(2, "refund to a gift card")])
    search.embed_pending(container.uow, fake, clock.now)
    semantic = Semantic(fake, InMemoryVectorIndex(fake.dimensions))
    query = {"mode": SearchMode.SEMANTIC, "semantic": semantic}
    found = search.search(container.uow.read_only(), SYSTEM, "refund card", **query)
    assert {h.ref_id for h in found.hits} == {"1", "2"}

    with container.uow() as uow:
        uow.search.remove(SearchKind.ARTICLE, "1")
        uow.commit()
    found = search.search(container.uow.read_only(), SYSTEM, "refund card", **query)
    assert [h.ref_id for h in found.hits] == ["2"]
    assert len(semantic.index) == 1  # met gone, then forgotten


def _words(count: int) -> str:
    return " ".join(f"word{n}" for n in range(count))


def test_pending_texts_are_embedded_in_one_model_call_and_stored_in_one_statement(
    container: Container,
) -> None:
    # Some long enough for several passages: each text must get its own, in order.
    texts = [_article(n, _words(400) if n % 3 == 0 else f"short text {n}") for n in range(40)]
    _index(container, texts)
    fake = CountingEmbedder()
    with sent_with_parameters(container.engine) as sent:
        assert search.embed_pending(container.uow, fake, container.clock.now, batch=64) == 40
    assert len(fake.calls) == 1
    assert len(fake.calls[0]) == sum(len(passages(t.title, t.body)) for t in texts) > 40
    assert len([s for s, _ in sent if s.lstrip().upper().startswith("UPDATE")]) == 1

    reference = CountingEmbedder()
    with container.uow() as uow:
        stored = {e.id: e.vectors for e in uow.search.embeddings_since(None)}
        assert uow.search.state().pending == 0
    for text in texts:
        assert text.id is not None
        expected = reference.embed(passages(text.title, text.body))
        assert stored[text.id] == expected.astype(np.float32).tobytes()


class EditingEmbedder(CountingEmbedder):
    """Someone edits a text while the model embeds the batch it belongs to."""

    def __init__(self, container: Container, edited: IndexedText) -> None:
        super().__init__()
        self.container = container
        self.edited = edited

    def embed(self, texts: Sequence[str]) -> Vectors:
        if len(self.calls) == 0:
            _index(self.container, [self.edited])
        return super().embed(texts)


def test_a_text_edited_while_its_batch_is_embedded_keeps_its_place_in_the_queue(
    container: Container,
) -> None:
    _index(container, [_article(n, f"text number {n}") for n in range(1, 6)])
    edited = _article(3, "text number 3, edited")
    embedder = EditingEmbedder(container, edited)
    assert search.embed_pending(container.uow, embedder, container.clock.now, max_batches=1) == 5
    with container.uow() as uow:
        pending = uow.search.pending(10)
        stored = {e.id for e in uow.search.embeddings_since(None)}
    # The other four are stored; the edited one waits for its new text to be embedded.
    assert [p.body for p in pending] == ["text number 3, edited"]
    assert len(stored) == 4 and pending[0].id not in stored
    search.embed_pending(container.uow, embedder, container.clock.now)
    with container.uow() as uow:
        assert uow.search.state().pending == 0
        assert len(uow.search.embeddings_since(None)) == 5


# Lexical search: a bounded set of candidates, each scored on every word.


def _exhaustive(container: Container, words: Sequence[str]) -> list[int]:
    """Every text holding a word, ranked as lexical search scores them: the order a search
    without any bound on its candidates gives."""
    with container.engine.connect() as conn:
        if container.engine.dialect.name == "sqlite":
            query = " OR ".join(f'"{w}"' for w in words)
            rows = conn.exec_driver_sql(
                "SELECT rowid FROM search_fts WHERE search_fts MATCH ? "
                "ORDER BY bm25(search_fts, 2.0, 1.0), rowid",
                (query,),
            )
        else:
            rows = conn.exec_driver_sql(
                "SELECT id FROM search_entries, to_tsquery('english', %(q)s) AS q "
                "WHERE lexemes @@ q "
                "ORDER BY ts_rank('{0.1, 0.2, 0.5, 1.0}', lexemes, q, 32) DESC, id",
                {"q": " | ".join(words)},
            )
        return [row[0] for row in rows]


def _lexical(
    container: Container,
    words: Sequence[str],
    limit: int = 50,
    kinds: Sequence[SearchKind] = (),
    public_only: bool = False,
) -> list[int]:
    with container.uow.read_only() as uow:
        return [i for i, _ in uow.search.lexical(words, kinds, public_only, limit)]


def test_lexical_search_ranks_every_match_of_words_in_few_texts(container: Container) -> None:
    bodies = ["parcel late", "late late parcel", "refund parcel", "kettle", "parcel parcel"]
    _index(container, [_article(n, body) for n, body in enumerate(bodies * 6, start=1)])
    for words in (["parcel"], ["late", "refund"], ["parcel", "late", "kettle"]):
        found = _lexical(container, words)
        assert found == _exhaustive(container, words)[:50]


def test_a_common_word_ranks_only_the_newest_of_its_texts_and_every_rare_word_text(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_index_repo, "LEXICAL_CANDIDATES", 4)
    # The oldest text says "parcel" most: ranked, it would come first.
    texts = [_article(1, "parcel parcel parcel parcel"), _article(2, "a stroller and a parcel")]
    texts += [_article(n, f"parcel number {n}") for n in range(3, 21)]
    _index(container, texts)
    ids = {t.ref_id: t.id for t in texts}

    # "parcel" is in 20 texts, more than 4: only its 4 newest texts are ranked.
    assert set(_lexical(container, ["parcel"])) == {ids[str(n)] for n in range(17, 21)}
    # "stroller" is in one: its old text is ranked too, on both words, and comes first.
    found = _lexical(container, ["parcel", "stroller"])
    assert found[0] == ids["2"]
    assert set(found) == {ids[str(n)] for n in (2, 17, 18, 19, 20)}
    assert ids["1"] not in found


def test_rare_words_count_rarest_first_while_their_texts_fit_the_bound(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_index_repo, "LEXICAL_CANDIDATES", 4)
    texts = [_article(n, "a kettle") for n in (1, 2)]
    texts += [_article(n, "a blender") for n in (3, 4, 5)]
    texts += [_article(n, f"parcel number {n}") for n in range(6, 21)]
    _index(container, texts)
    ids = {t.ref_id: t.id for t in texts}
    # "kettle" (2 texts) fits; "blender" (3 more) would pass 4: only the newest stand for it.
    found = _lexical(container, ["parcel", "blender", "kettle"])
    assert set(found) == {ids[str(n)] for n in (1, 2, 17, 18, 19, 20)}


def test_lexical_filters_apply_before_the_newest_texts_are_taken(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_index_repo, "LEXICAL_CANDIDATES", 3)
    # The public texts are the oldest: the newest texts holding the word are all internal.
    texts = [_article(n, f"refund number {n}", public=n <= 3) for n in range(1, 21)]
    texts.append(
        IndexedText(kind=SearchKind.MACRO, ref_id="m", title="Refund reply", body="refund")
    )
    _index(container, texts)
    ids = {t.ref_id: t.id for t in texts}
    public = _lexical(container, ["refund"], public_only=True)
    assert set(public) == {ids["1"], ids["2"], ids["3"]}
    assert _lexical(container, ["refund"], kinds=[SearchKind.MACRO]) == [ids["m"]]
    articles = _lexical(container, ["refund"], kinds=[SearchKind.ARTICLE])
    assert set(articles) == {ids["18"], ids["19"], ids["20"]}


def test_lexical_statements_use_the_full_text_index(container: Container) -> None:
    _index(container, [_article(n, f"parcel refund number {n}") for n in range(1, 30)])
    with sent_with_parameters(container.engine) as sent:
        assert _lexical(container, ["parcel", "refund"])
    # One statement: how many texts hold each word, the candidates and their ranking.
    ((statement, parameters),) = reads(sent)
    found = query_plan(container.engine, statement, parameters)
    if container.engine.dialect.name == "sqlite":
        assert "search_fts VIRTUAL TABLE INDEX" in found and "SCAN search_entries" not in found
    else:
        assert "ix_search_entries_lexemes" in found, found


def _count_scans(plan: str) -> dict[str, bool]:
    """For each word counted in an EXPLAIN ANALYZE plan of the lexical statement, whether
    its count ran: the `counted` scans and the lexeme each looks for."""
    lines = plan.splitlines()
    counted: dict[str, bool] = {}
    for number, line in enumerate(lines):
        if "search_entries counted" in line:
            condition = " ".join(lines[number + 1 : number + 4])
            lexeme = condition.split("'''")[1]
            counted[lexeme] = "never executed" not in line
    return counted


@pytest.mark.postgres_only
def test_postgresql_counts_no_word_its_statistics_call_common(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_index_repo, "LEXICAL_CANDIDATES", 4)
    texts = [_article(n, f"parcel number {n}") for n in range(1, 41)]
    texts += [_article(n, "a stroller and a parcel") for n in (41, 42)]
    _index(container, texts)
    unanalysed = _lexical(container, ["parcel", "stroller"])
    with container.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE search_entries")

    with sent_with_parameters(container.engine) as sent:
        assert _lexical(container, ["parcel", "stroller"]) == unanalysed
    ((statement, parameters),) = reads(sent)
    with container.engine.connect() as conn:
        explained = conn.exec_driver_sql(
            f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {statement}", parameters
        )
        plan = "\n".join(row[0] for row in explained)
    # "parcel" is in 42 texts by the statistics, past twice the 4 candidates: not counted.
    # "stroller", in 2, is counted, and its texts are all candidates.
    assert _count_scans(plan) == {"parcel": False, "stroller": True}, plan
    # Each candidate is ranked on the row its own scan read: none is looked up again by id.
    assert "Index Cond: (id = " not in plan, plan


def test_a_hybrid_query_reads_each_side_once_and_the_hits_it_shows(container: Container) -> None:
    fake = CountingEmbedder()
    _index(container, [_article(n, f"refund parcel number {n}") for n in range(1, 31)])
    search.embed_pending(container.uow, fake, container.clock.now)
    semantic = Semantic(fake, InMemoryVectorIndex(fake.dimensions))
    query = {"mode": SearchMode.HYBRID, "semantic": semantic, "limit": 5}
    search.search(container.uow.read_only(), SYSTEM, "refund", **query)  # loads the vectors
    with sent_with_parameters(container.engine) as sent:
        found = search.search(container.uow.read_only(), SYSTEM, "refund parcel", **query)
    assert len(found.hits) == 5
    scores = [hit.score for hit in found.hits]
    assert scores == sorted(scores, reverse=True)
    # The lexical ranking; whether anything was embedded since; then the five texts shown,
    # once, with no second read for the fusion.
    selects = reads(sent)
    assert len(selects) == 3
    assert len(selects[-1][1]) == 5
