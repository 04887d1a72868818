"""The in-memory copy of the stored embeddings: filters, best passage, and staying fresh."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from caredesk.adapters.vector_index import (
    RECHECK,
    RECHECK_ROWS,
    InMemoryVectorIndex,
    VectorSearch,
    load_faiss,
)
from caredesk.domain.search import SearchKind
from caredesk.services.knowledge.ports import (
    EmbeddingsStamp,
    IndexState,
    StoredEmbedding,
    Vectors,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FAISS = load_faiss(1)
NewIndex = Callable[[int], InMemoryVectorIndex]


@pytest.fixture(params=["exact", "sq8", "fp16"])
def new_index(request: pytest.FixtureRequest) -> NewIndex:
    """Each test on the float32 product alone and on each quantized rough pass, the latter
    from the first row on so that these small indexes use it."""
    search: VectorSearch = request.param
    if search == "exact":
        return InMemoryVectorIndex
    assert FAISS is not None
    return lambda dimensions: InMemoryVectorIndex(
        dimensions, faiss=FAISS, search=search, quantize_from=1
    )


def ids(scored: list[tuple[int, float]]) -> list[int]:
    return [entry_id for entry_id, _ in scored]


def unit(*values: float) -> Vectors:
    vector = np.array(values, dtype=np.float32)
    return np.asarray(vector / np.linalg.norm(vector), dtype=np.float32)


class FakeStore:
    """Just enough of the search index repository for the vector index."""

    def __init__(self) -> None:
        self.rows: dict[int, StoredEmbedding] = {}
        self.reads = 0
        # The texts whose vectors each read after the first fetched.
        self.fetched: list[list[int]] = []
        self.version_reads = 0

    def put(
        self,
        entry_id: int,
        kind: SearchKind,
        vectors: Sequence[Vectors],
        at: datetime,
        public: bool = False,
    ) -> None:
        blob = np.vstack(vectors).astype(np.float32).tobytes()
        self.rows[entry_id] = StoredEmbedding(entry_id, kind, public, blob, at)

    def state(self) -> IndexState:
        last = max((r.embedded_at for r in self.rows.values()), default=None)
        return IndexState(len(self.rows), last, len(self.rows), 0)

    def embeddings_since(self, since: datetime | None) -> list[StoredEmbedding]:
        self.reads += 1
        return [r for r in self.rows.values() if since is None or r.embedded_at >= since]

    def embeddings_stamp(self, since: datetime, most: int) -> EmbeddingsStamp:
        recent = [r.embedded_at for r in self.rows.values() if r.embedded_at >= since]
        return EmbeddingsStamp(min(len(recent), most), max(recent, default=None))

    def embedded_versions(self, since: datetime) -> dict[int, datetime]:
        self.version_reads += 1
        return {i: r.embedded_at for i, r in self.rows.items() if r.embedded_at >= since}

    def embeddings(self, ids: Sequence[int]) -> list[StoredEmbedding]:
        self.reads += 1
        self.fetched.append(sorted(ids))
        return [self.rows[i] for i in ids if i in self.rows]


def test_nearest_ranks_by_best_passage_and_filters(new_index: NewIndex) -> None:
    store = FakeStore()
    store.put(1, SearchKind.ARTICLE, [unit(1, 0, 0)], T0, public=True)
    store.put(2, SearchKind.ARTICLE, [unit(0, 1, 0), unit(0.9, 0.1, 0)], T0)  # second passage close
    store.put(3, SearchKind.CASE, [unit(1, 0.05, 0)], T0)
    store.put(4, SearchKind.MACRO, [unit(0, 0, 1)], T0)
    index = new_index(3)
    index.refresh(store)  # type: ignore[arg-type]
    query = unit(1, 0, 0)
    assert ids(index.nearest(query, [], False, 10)) == [1, 3, 2, 4]
    assert ids(index.nearest(query, [SearchKind.ARTICLE], False, 10)) == [1, 2]
    assert ids(index.nearest(query, [SearchKind.MACRO, SearchKind.CASE], False, 1)) == [3]
    assert ids(index.nearest(query, [], True, 10)) == [1]
    assert ids(index.nearest(query, [SearchKind.CASE], True, 10)) == []


def test_refresh_reads_only_what_changed_and_reloads_after_removals(new_index: NewIndex) -> None:
    store = FakeStore()
    store.put(1, SearchKind.ARTICLE, [unit(1, 0)], T0)
    index = new_index(2)
    index.refresh(store)  # type: ignore[arg-type]
    index.refresh(store)  # type: ignore[arg-type]
    assert store.reads == 1  # nothing changed: no read

    store.put(2, SearchKind.ARTICLE, [unit(0, 1)], T0 + timedelta(seconds=1))
    index.refresh(store)  # type: ignore[arg-type]
    assert ids(index.nearest(unit(0, 1), [], False, 1)) == [2]

    # Re-embedded with a new meaning: the new vectors replace the old.
    store.put(1, SearchKind.ARTICLE, [unit(0, 1)], T0 + timedelta(seconds=2))
    store.put(2, SearchKind.ARTICLE, [unit(1, 0)], T0 + timedelta(seconds=2))
    index.refresh(store)  # type: ignore[arg-type]
    assert ids(index.nearest(unit(1, 0), [], False, 1)) == [2]

    del store.rows[1]
    index.refresh(store)  # type: ignore[arg-type]
    assert len(index) == 1 and ids(index.nearest(unit(0, 1), [], False, 5)) == [2]


def test_vectors_of_another_size_are_skipped(new_index: NewIndex) -> None:
    store = FakeStore()
    store.put(1, SearchKind.ARTICLE, [np.ones(5, dtype=np.float32)], T0)
    store.put(2, SearchKind.ARTICLE, [unit(1, 0, 0)], T0)
    index = new_index(3)
    index.refresh(store)  # type: ignore[arg-type]
    assert ids(index.nearest(unit(1, 0, 0), [], False, 5)) == [2]
    assert ids(new_index(3).nearest(unit(1, 0, 0), [], False, 5)) == []


def _brute_force(
    store: FakeStore, query: Vectors, kinds: Sequence[SearchKind], public_only: bool, limit: int
) -> list[tuple[int, float]]:
    """Every text's best passage, filtered and sorted: what the index must answer."""
    scored = []
    for entry_id, row in store.rows.items():
        if (kinds and row.kind not in kinds) or (public_only and not row.public):
            continue
        vectors = np.frombuffer(row.vectors, dtype=np.float32).reshape(-1, len(query))
        scored.append((entry_id, float((vectors @ query).max())))
    scored.sort(key=lambda pair: (-pair[1], pair[0]))
    return scored[:limit]


def test_nearest_is_the_best_passage_of_every_text_best_first(new_index: NewIndex) -> None:
    rng = np.random.default_rng(7)
    store = FakeStore()
    kinds = list(SearchKind)
    for entry_id in range(1, 301):
        passages = rng.normal(size=(int(rng.integers(1, 5)), 8)).astype(np.float32)
        passages /= np.linalg.norm(passages, axis=1, keepdims=True)
        store.put(entry_id, kinds[entry_id % 3], list(passages), T0, public=entry_id % 4 == 0)
    index = new_index(8)
    index.refresh(store)  # type: ignore[arg-type]
    for _ in range(20):
        query = unit(*rng.normal(size=8))
        for wanted, public_only in (([], False), ([SearchKind.CASE], False), (kinds[:2], True)):
            found = index.nearest(query, wanted, public_only, 15)
            expected = _brute_force(store, query, wanted, public_only, 15)
            assert ids(found) == ids(expected)
            assert np.allclose([s for _, s in found], [s for _, s in expected], atol=1e-5)


def test_a_changed_text_is_read_alone_and_replaces_its_old_vectors(new_index: NewIndex) -> None:
    store = FakeStore()
    for entry_id in range(1, 101):
        store.put(entry_id, SearchKind.CASE, [unit(1, entry_id / 100, 0)], T0)
    index = new_index(3)
    index.refresh(store)  # type: ignore[arg-type]
    assert store.reads == 1 and store.fetched == []

    # Nothing new: the stamp says so and nothing is read.
    index.refresh(store)  # type: ignore[arg-type]
    assert store.reads == 1

    # Text 7 now has two passages, one of them about something else: only it is read.
    later = T0 + timedelta(minutes=1)
    store.put(7, SearchKind.CASE, [unit(1, 0.07, 0), unit(0, 0, 1)], later)
    index.refresh(store)  # type: ignore[arg-type]
    assert store.fetched == [[7]]
    assert ids(index.nearest(unit(0, 0, 1), [], False, 1)) == [7]
    assert len(index) == 100

    # Made public, the same vectors stamped anew (as upsert does): the audience filter follows.
    store.rows[7] = StoredEmbedding(
        7, SearchKind.CASE, True, store.rows[7].vectors, later + timedelta(seconds=1)
    )
    index.refresh(store)  # type: ignore[arg-type]
    assert ids(index.nearest(unit(0, 0, 1), [], True, 5)) == [7]


def test_many_changes_keep_the_answers_right(new_index: NewIndex) -> None:
    """Replaced vectors are masked, then compacted away: results stay those of the store."""
    rng = np.random.default_rng(3)
    store = FakeStore()
    at = T0
    for entry_id in range(1, 41):
        store.put(entry_id, SearchKind.ARTICLE, [unit(*rng.normal(size=4))], at)
    index = new_index(4)
    index.refresh(store)  # type: ignore[arg-type]
    for step in range(200):
        at += timedelta(seconds=1)
        entry_id = int(rng.integers(1, 41))
        if step % 17 == 0:
            # Removed: the search service discards what it finds gone.
            store.rows.pop(entry_id, None)
            index.discard([entry_id])
        else:
            passages = [unit(*rng.normal(size=4)) for _ in range(int(rng.integers(1, 4)))]
            store.put(entry_id, SearchKind.ARTICLE, passages, at)
        index.refresh(store)  # type: ignore[arg-type]
        query = unit(*rng.normal(size=4))
        assert ids(index.nearest(query, [], False, 10)) == ids(
            _brute_force(store, query, [], False, 10)
        )
    assert len(index) == len(store.rows)


def test_an_embedding_committed_late_with_an_older_time_is_still_read(new_index: NewIndex) -> None:
    # Another transaction stamped its vectors before the last ones read, but committed after.
    store = FakeStore()
    store.put(1, SearchKind.ARTICLE, [unit(1, 0)], T0)
    index = new_index(2)
    index.refresh(store)  # type: ignore[arg-type]
    store.put(2, SearchKind.ARTICLE, [unit(0, 1)], T0 - RECHECK / 2)
    index.refresh(store)  # type: ignore[arg-type]
    assert ids(index.nearest(unit(0, 1), [], False, 1)) == [2]


def test_discarded_texts_are_no_longer_found(new_index: NewIndex) -> None:
    store = FakeStore()
    store.put(1, SearchKind.ARTICLE, [unit(1, 0)], T0)
    store.put(2, SearchKind.ARTICLE, [unit(0.9, 0.1)], T0)
    index = new_index(2)
    index.refresh(store)  # type: ignore[arg-type]
    index.discard([1])
    assert ids(index.nearest(unit(1, 0), [], False, 5)) == [2]
    assert len(index) == 1


def test_a_bulk_embedded_at_one_time_is_counted_no_further_than_the_bound(
    new_index: NewIndex,
) -> None:
    store = FakeStore()
    for entry_id in range(1, RECHECK_ROWS + 501):
        store.put(entry_id, SearchKind.CASE, [unit(1, 0)], T0)
    index = new_index(2)
    index.refresh(store)  # type: ignore[arg-type]
    index.refresh(store)  # type: ignore[arg-type]
    assert store.reads == 1 and store.version_reads == 0
    store.put(7, SearchKind.CASE, [unit(0, 1)], T0 + timedelta(seconds=1))
    index.refresh(store)  # type: ignore[arg-type]
    assert store.fetched == [[7]]
    assert ids(index.nearest(unit(0, 1), [], False, 1)) == [7]


def _unit_rows(rng: np.random.Generator, count: int, dimensions: int) -> Vectors:
    rows = rng.normal(size=(count, dimensions)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


@pytest.mark.parametrize("search", ["sq8", "fp16"])
def test_the_rough_pass_finds_the_exact_top_ten_of_twenty_thousand_texts(
    search: VectorSearch,
) -> None:
    rng = np.random.default_rng(20_000)
    rows = _unit_rows(rng, 20_000, 384)
    store = FakeStore()
    for entry_id, row in enumerate(rows, start=1):
        store.put(entry_id, SearchKind.CASE, [row], T0)
    exact = InMemoryVectorIndex(384)
    quantized = InMemoryVectorIndex(384, faiss=FAISS, search=search)
    for index in (exact, quantized):
        index.refresh(store)  # type: ignore[arg-type]
    assert quantized.quantized_builds == 1
    # 100 queries anywhere, 100 close to a stored text (a near-duplicate question).
    near = rows[rng.integers(0, len(rows), 100)] + _unit_rows(rng, 100, 384) * 0.3
    for query in [*_unit_rows(rng, 100, 384), *near]:
        query = unit(*query)
        found = quantized.nearest(query, [], False, 10)
        expected = exact.nearest(query, [], False, 10)
        assert ids(found) == ids(expected)
        assert np.allclose([s for _, s in found], [s for _, s in expected], atol=1e-6)


def test_the_quantized_copy_takes_a_byte_a_number_beside_the_float32_rows() -> None:
    store = FakeStore()
    rows = _unit_rows(np.random.default_rng(1), 1000, 16)
    for entry_id in range(1, 501):  # two passages each
        store.put(entry_id, SearchKind.CASE, list(rows[2 * entry_id - 2 : 2 * entry_id]), T0)
    index = InMemoryVectorIndex(16, faiss=FAISS, search="sq8", quantize_from=1000)
    index.refresh(store)  # type: ignore[arg-type]
    assert index.memory_bytes() == 1000 * 16 * 4 + 1000 * 16
    small = InMemoryVectorIndex(16, faiss=FAISS, search="sq8", quantize_from=1001)
    small.refresh(store)  # type: ignore[arg-type]
    # Below the threshold every float32 row is scored: no copy.
    assert small.quantized_builds == 0 and small.memory_bytes() == 1000 * 16 * 4


def test_a_text_with_many_close_passages_counts_once_among_the_candidates() -> None:
    rng = np.random.default_rng(5)
    store = FakeStore()
    query = unit(*rng.normal(size=32))
    # Text 1's 200 passages all lie nearer the query than any other text: the first rows the
    # rough pass takes are all its own, and it must keep taking until 10 texts are covered.
    close = [unit(*(query + 0.05 * rng.normal(size=32))) for _ in range(200)]
    store.put(1, SearchKind.CASE, close, T0)
    others = _unit_rows(rng, 300, 32)
    for entry_id, row in enumerate(others, start=2):
        store.put(entry_id, SearchKind.CASE, [row], T0)
    index = InMemoryVectorIndex(32, faiss=FAISS, search="sq8", quantize_from=1)
    index.refresh(store)  # type: ignore[arg-type]
    found = index.nearest(query, [], False, 10)
    assert ids(found) == ids(_brute_force(store, query, [], False, 10))
    assert len(set(ids(found))) == 10 and ids(found)[0] == 1


def test_changes_after_the_copy_was_built_are_seen_by_the_next_query() -> None:
    rng = np.random.default_rng(9)
    store = FakeStore()
    for entry_id, row in enumerate(_unit_rows(rng, 400, 8), start=1):
        store.put(entry_id, SearchKind.ARTICLE, [row], T0, public=entry_id % 2 == 0)
    index = InMemoryVectorIndex(8, faiss=FAISS, search="sq8", quantize_from=100)
    index.refresh(store)  # type: ignore[arg-type]
    assert index.quantized_builds == 1
    target = unit(*rng.normal(size=8))

    # Text 3 re-embedded right onto the query: appended after the copy, scored exactly.
    store.put(3, SearchKind.ARTICLE, [target], T0 + timedelta(seconds=1))
    index.refresh(store)  # type: ignore[arg-type]
    assert ids(index.nearest(target, [], False, 1)) == [3]
    assert ids(index.nearest(target, [], False, 10)) == ids(
        _brute_force(store, target, [], False, 10)
    )
    # Removed: gone from the next answer, though the copy still holds its rows.
    del store.rows[3]
    index.discard([3])
    assert 3 not in ids(index.nearest(target, [], False, 10))
    # The public filter reaches into the copy: only even texts, the best of them exactly.
    assert ids(index.nearest(target, [], True, 10)) == ids(
        _brute_force(store, target, [], True, 10)
    )
    assert index.quantized_builds == 1

    # Rows appended past a sixteenth of the copy: it is built again from every row.
    at = T0 + timedelta(seconds=2)
    for entry_id, row in enumerate(_unit_rows(rng, 30, 8), start=10):
        store.put(entry_id, SearchKind.ARTICLE, [row], at)
    index.refresh(store)  # type: ignore[arg-type]
    assert index.quantized_builds == 2
    for query in _unit_rows(rng, 20, 8):
        assert ids(index.nearest(query, [], False, 10)) == ids(
            _brute_force(store, query, [], False, 10)
        )


def test_without_faiss_the_index_scores_every_float32_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    # None in sys.modules makes `import faiss` fail as if it were not installed.
    monkeypatch.setitem(sys.modules, "faiss", None)
    assert load_faiss(1) is None
    store = FakeStore()
    for entry_id, row in enumerate(_unit_rows(np.random.default_rng(2), 50, 4), start=1):
        store.put(entry_id, SearchKind.CASE, [row], T0)
    index = InMemoryVectorIndex(4, faiss=None, search="sq8", quantize_from=1)
    index.refresh(store)  # type: ignore[arg-type]
    query = unit(1, 2, 3, 4)
    assert index.quantized_builds == 0
    assert ids(index.nearest(query, [], False, 5)) == ids(_brute_force(store, query, [], False, 5))


def test_faiss_takes_the_threads_it_is_given() -> None:
    faiss = FAISS
    assert faiss is not None
    try:
        assert load_faiss(2) is not None
        assert faiss.omp_get_max_threads() == 2
    finally:
        load_faiss(1)
    assert faiss.omp_get_max_threads() == 1
