"""The stored embeddings held in memory: one matrix, a dot product per query.

Each text may have several passage vectors; a text scores as its best passage. The copy is
brought up to date before each query from what was embedded since the last look (a cheap
aggregate query when nothing changed), so every process sees the others' writes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import numpy.typing as npt

from caredesk.domain.search import SearchKind
from caredesk.services.knowledge.ports import IndexState, SearchIndexRepository, Vectors

_KIND_CODES = {kind: code for code, kind in enumerate(SearchKind)}


class InMemoryVectorIndex:
    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._lock = threading.Lock()
        self._vectors: dict[int, tuple[Vectors, int, bool]] = {}
        self._state: IndexState | None = None
        self._since: datetime | None = None
        self._matrix: Vectors = np.zeros((0, dimensions), dtype=np.float32)
        self._owner: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._kind: npt.NDArray[np.int8] = np.zeros(0, dtype=np.int8)
        self._public: npt.NDArray[np.bool_] = np.zeros(0, dtype=bool)
        self._dirty = False

    def __len__(self) -> int:
        return len(self._vectors)

    def refresh(self, index: SearchIndexRepository) -> None:
        state = index.state()
        with self._lock:
            if state == self._state:
                return
            full = self._state is None or state.embedded < len(self._vectors)
            if full:
                self._vectors.clear()
                self._since = None
            for stored in index.embeddings_since(self._since):
                vectors = np.frombuffer(stored.vectors, dtype=np.float32)
                if vectors.size == 0 or vectors.size % self.dimensions:
                    continue  # written by another model; re-embedding will replace it
                self._vectors[stored.id] = (
                    vectors.reshape(-1, self.dimensions),
                    _KIND_CODES[stored.kind],
                    stored.public,
                )
            self._since = state.last_embedded_at
            self._state = state
            self._dirty = True

    def _rebuild(self) -> None:
        ids = sorted(self._vectors)
        blocks = [self._vectors[i][0] for i in ids]
        self._matrix = (
            np.vstack(blocks).astype(np.float32, copy=False)
            if blocks
            else np.zeros((0, self.dimensions), dtype=np.float32)
        )
        counts = [len(b) for b in blocks]
        self._owner = np.repeat(np.array(ids, dtype=np.int64), counts)
        self._kind = np.repeat(np.array([self._vectors[i][1] for i in ids], dtype=np.int8), counts)
        self._public = np.repeat(np.array([self._vectors[i][2] for i in ids], dtype=bool), counts)
        self._dirty = False

    def nearest(
        self, query: Vectors, kinds: Sequence[SearchKind], public_only: bool, limit: int
    ) -> list[tuple[int, float]]:
        with self._lock:
            if self._dirty:
                self._rebuild()
            matrix, owner, kind, public = self._matrix, self._owner, self._kind, self._public
        if not len(matrix):
            return []
        scores = matrix @ query.reshape(-1).astype(np.float32)
        mask = np.ones(len(scores), dtype=bool)
        if kinds:
            mask &= np.isin(kind, [_KIND_CODES[k] for k in kinds])
        if public_only:
            mask &= public
        scores = np.where(mask, scores, -np.inf)
        # Take more passages than texts wanted: several may belong to one text.
        take = min(len(scores), limit * 8)
        top = np.argpartition(-scores, take - 1)[:take]
        top = top[np.argsort(-scores[top], kind="stable")]
        seen: dict[int, float] = {}
        for position in top:
            if scores[position] == -np.inf:
                break
            seen.setdefault(int(owner[position]), float(scores[position]))
            if len(seen) == limit:
                break
        return list(seen.items())
