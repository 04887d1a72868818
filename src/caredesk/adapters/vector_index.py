"""The stored embeddings held in memory: one matrix, one matrix-vector product per query.

Each text may have several passage vectors, kept in consecutive rows of one contiguous
float32 matrix; a text scores as its best passage. The copy is brought up to date before
each query from what was embedded since it last looked, so every process sees the others'
writes: one indexed count over the last few seconds' embeddings when nothing changed, and
only the changed texts' vectors read when something did. A changed text's new rows are
appended and its old ones masked, so the matrix is never rebuilt on a query's path but
compacted now and then, when the masked rows grow to a quarter of it.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from caredesk.domain.search import SearchKind
from caredesk.services.knowledge.ports import (
    EmbeddingsStamp,
    SearchIndexRepository,
    StoredEmbedding,
    Vectors,
)

G = TypeVar("G", bound=np.generic)
_KIND_CODES = {kind: code for code, kind in enumerate(SearchKind)}

# How far before the latest embedding the copy looks again for changes. A transaction
# stamps its embeddings before it commits, and another machine's clock may run behind, so
# an embedding can appear with a time a little older than one already read; one that
# appears later than this after its own time is missed until its text is embedded again.
RECHECK = timedelta(seconds=10)
# The newest embeddings counted in that window, so that a bulk of them stamped at one time
# (a reindex, an import) cannot make every query count them all; past this many, a late one
# shows only when something newer comes.
RECHECK_ROWS = 1000
# Where an index that has read nothing yet looks from: before any embedding.
_BEFORE_ALL = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """What one query reads: views that later appends and compactions leave alone."""

    rows: Vectors
    starts: npt.NDArray[np.int64]
    owners: npt.NDArray[np.int64]
    kinds: npt.NDArray[np.int8]
    public: npt.NDArray[np.bool_]
    live: npt.NDArray[np.bool_]


def _stamp(recent: Sequence[datetime]) -> EmbeddingsStamp:
    """What the repository's stamp will say while nothing changes: the same count."""
    return EmbeddingsStamp(min(len(recent), RECHECK_ROWS), max(recent, default=None))


def _grown(array: npt.NDArray[G], needed: int) -> npt.NDArray[G]:
    """`array` with room for `needed` leading items, half as much again to spare."""
    if len(array) >= needed:
        return array
    bigger = np.zeros((max(needed, len(array) * 3 // 2), *array.shape[1:]), dtype=array.dtype)
    bigger[: len(array)] = array
    return bigger


class InMemoryVectorIndex:
    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        # Guards the arrays below; queries hold it only to take a snapshot.
        self._lock = threading.Lock()
        # One refresh at a time: each reads what the previous one left.
        self._refreshing = threading.Lock()
        self._rows: Vectors = np.zeros((0, dimensions), dtype=np.float32)
        self._used = 0
        # One segment per stored version of a text: its first row, whose text, its kind,
        # audience and embedding time, and whether it is still the text's current one.
        self._starts: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._owners: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._kinds: npt.NDArray[np.int8] = np.zeros(0, dtype=np.int8)
        self._public: npt.NDArray[np.bool_] = np.zeros(0, dtype=bool)
        self._live: npt.NDArray[np.bool_] = np.zeros(0, dtype=bool)
        self._embedded_at: dict[int, datetime] = {}
        self._segments = 0
        self._segment_of: dict[int, int] = {}
        self._dead_rows = 0
        # Changes are looked for from `_since` on; `_stamp` is what was read from there.
        self._since: datetime | None = None
        self._stamp: EmbeddingsStamp | None = None

    def __len__(self) -> int:
        return len(self._segment_of)

    def refresh(self, index: SearchIndexRepository) -> None:
        with self._refreshing:
            if self._since is None:
                self._load(index.embeddings_since(None), full=True)
                return
            since = self._since
            if index.embeddings_stamp(since, RECHECK_ROWS) == self._stamp:
                return
            versions = index.embedded_versions(since)
            with self._lock:
                changed = [i for i, at in versions.items() if self._embedded_at.get(i) != at]
                # Read before and not there now: the text left the index.
                gone = [i for i, at in self._embedded_at.items() if at >= since]
                self._drop([i for i in gone if i not in versions])
            self._load(index.embeddings(changed) if changed else [], full=False)
            latest = max(versions.values(), default=None)
            if latest is not None:
                self._since = max(since, latest - RECHECK)
            self._stamp = _stamp([at for at in versions.values() if at >= self._since])

    def _load(self, stored: Sequence[StoredEmbedding], *, full: bool) -> None:
        fitting = []
        for item in stored:
            vectors = np.frombuffer(item.vectors, dtype=np.float32)
            if vectors.size and not vectors.size % self.dimensions:
                fitting.append((item, vectors.reshape(-1, self.dimensions)))
            # Otherwise written by another model: re-embedding will replace it.
        with self._lock:
            if full:
                self._drop(list(self._segment_of))
                self._embedded_at.clear()
            self._drop([item.id for item in stored])
            self._append(fitting)
            for item in stored:
                self._embedded_at[item.id] = item.embedded_at
            if full:
                latest = max((item.embedded_at for item in stored), default=None)
                self._since = latest - RECHECK if latest is not None else _BEFORE_ALL
                self._stamp = _stamp(
                    [i.embedded_at for i in stored if i.embedded_at >= self._since]
                )
            if self._dead_rows * 4 > self._used:
                self._compact()

    def _append(self, items: Sequence[tuple[StoredEmbedding, Vectors]]) -> None:
        rows = sum(len(vectors) for _, vectors in items)
        self._rows = _grown(self._rows, self._used + rows)
        needed = self._segments + len(items)
        self._starts = _grown(self._starts, needed)
        self._owners = _grown(self._owners, needed)
        self._kinds = _grown(self._kinds, needed)
        self._public = _grown(self._public, needed)
        self._live = _grown(self._live, needed)
        for item, vectors in items:
            segment, row = self._segments, self._used
            self._rows[row : row + len(vectors)] = vectors
            self._starts[segment] = row
            self._owners[segment] = item.id
            self._kinds[segment] = _KIND_CODES[item.kind]
            self._public[segment] = item.public
            self._live[segment] = True
            self._segment_of[item.id] = segment
            self._segments += 1
            self._used += len(vectors)

    def _segment_rows(self, segment: int) -> int:
        end = self._starts[segment + 1] if segment + 1 < self._segments else self._used
        return int(end - self._starts[segment])

    def _drop(self, entry_ids: Collection[int]) -> None:
        for entry_id in entry_ids:
            self._embedded_at.pop(entry_id, None)
            segment = self._segment_of.pop(entry_id, None)
            if segment is not None:
                self._live[segment] = False
                self._dead_rows += self._segment_rows(segment)

    def _compact(self) -> None:
        """New arrays without the masked rows; snapshots taken before keep the old ones."""
        segments = self._segments
        counts = np.diff(np.append(self._starts[:segments], self._used))
        live = self._live[:segments]
        keep_rows = np.repeat(live, counts)
        self._rows = np.ascontiguousarray(self._rows[: self._used][keep_rows])
        kept_counts = counts[live]
        self._starts = np.concatenate(([0], np.cumsum(kept_counts)[:-1])).astype(np.int64)
        self._owners = self._owners[:segments][live].copy()
        self._kinds = self._kinds[:segments][live].copy()
        self._public = self._public[:segments][live].copy()
        self._live = np.ones(len(self._owners), dtype=bool)
        self._segments = len(self._owners)
        self._used = len(self._rows)
        self._segment_of = {int(owner): s for s, owner in enumerate(self._owners)}
        self._dead_rows = 0

    def discard(self, entry_ids: Collection[int]) -> None:
        with self._lock:
            self._drop(entry_ids)

    def _snapshot(self) -> _Snapshot:
        with self._lock:
            segments = self._segments
            return _Snapshot(
                rows=self._rows[: self._used],
                starts=self._starts[:segments],
                owners=self._owners[:segments],
                kinds=self._kinds[:segments],
                public=self._public[:segments],
                # The one array changed in place (a replaced text's segment is masked).
                live=self._live[:segments].copy(),
            )

    def nearest(
        self, query: Vectors, kinds: Sequence[SearchKind], public_only: bool, limit: int
    ) -> list[tuple[int, float]]:
        snap = self._snapshot()
        if not len(snap.starts) or limit < 1:
            return []
        scores = snap.rows @ np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        # Each text's best passage: the maximum over its segment's consecutive rows.
        best = np.maximum.reduceat(scores, snap.starts)
        wanted = snap.live
        if kinds:
            wanted &= np.isin(snap.kinds, [_KIND_CODES[k] for k in kinds])
        if public_only:
            wanted &= snap.public
        take = min(limit, int(np.count_nonzero(wanted)))
        if not take:
            return []
        best[~wanted] = -np.inf
        top = np.argpartition(-best, take - 1)[:take]
        top = top[np.lexsort((snap.owners[top], -best[top]))]
        return [(int(snap.owners[s]), float(best[s])) for s in top]
