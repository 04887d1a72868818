"""The in-memory copy of the stored embeddings: filters, best passage, and staying fresh."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from caredesk.adapters.vector_index import InMemoryVectorIndex
from caredesk.domain.search import SearchKind
from caredesk.services.knowledge.ports import IndexState, StoredEmbedding, Vectors

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


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


def test_nearest_ranks_by_best_passage_and_filters() -> None:
    store = FakeStore()
    store.put(1, SearchKind.ARTICLE, [unit(1, 0, 0)], T0, public=True)
    store.put(2, SearchKind.ARTICLE, [unit(0, 1, 0), unit(0.9, 0.1, 0)], T0)  # second passage close
    store.put(3, SearchKind.CASE, [unit(1, 0.05, 0)], T0)
    store.put(4, SearchKind.MACRO, [unit(0, 0, 1)], T0)
    index = InMemoryVectorIndex(3)
    index.refresh(store)  # type: ignore[arg-type]
    query = unit(1, 0, 0)
    assert ids(index.nearest(query, [], False, 10)) == [1, 3, 2, 4]
    assert ids(index.nearest(query, [SearchKind.ARTICLE], False, 10)) == [1, 2]
    assert ids(index.nearest(query, [SearchKind.MACRO, SearchKind.CASE], False, 1)) == [3]
    assert ids(index.nearest(query, [], True, 10)) == [1]
    assert ids(index.nearest(query, [SearchKind.CASE], True, 10)) == []


def test_refresh_reads_only_what_changed_and_reloads_after_removals() -> None:
    store = FakeStore()
    store.put(1, SearchKind.ARTICLE, [unit(1, 0)], T0)
    index = InMemoryVectorIndex(2)
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


def test_vectors_of_another_size_are_skipped() -> None:
    store = FakeStore()
    store.put(1, SearchKind.ARTICLE, [np.ones(5, dtype=np.float32)], T0)
    store.put(2, SearchKind.ARTICLE, [unit(1, 0, 0)], T0)
    index = InMemoryVectorIndex(3)
    index.refresh(store)  # type: ignore[arg-type]
    assert ids(index.nearest(unit(1, 0, 0), [], False, 5)) == [2]
    assert ids(InMemoryVectorIndex(3).nearest(unit(1, 0, 0), [], False, 5)) == []
