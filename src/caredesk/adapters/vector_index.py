"""The stored embeddings held in memory: a quantized rough pass, then an exact re-rank.

Each text may have several passage vectors, kept in consecutive rows of one contiguous
float32 matrix; a text scores as its best passage. With faiss, a quantized copy of the rows
(one byte a number with sq8: a quarter of the bytes a query reads) finds each query's
candidates, and the float32 rows of those candidates alone give the scores; without it, or
below a size where the product over every row is cheap anyway, one product over the float32
matrix. The index is brought up to date before each query from what was embedded since it
last looked, so every process sees the others' writes: one indexed count over the last few
seconds' embeddings when nothing changed, and only the changed texts' vectors read when
something did. A changed text's new rows are appended and its old ones masked, so the
matrix is never rebuilt on a query's path but compacted now and then, when the masked rows
grow to a quarter of it.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

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

# How the rough pass stores a number: "sq8" one byte (its range per dimension learnt from
# the rows), "fp16" two; "exact" keeps no quantized copy and scores every float32 row.
VectorSearch = Literal["sq8", "fp16", "exact"]
# Below this many rows the product over every float32 row costs little (24 MB at 384
# numbers a row), and a quantized copy would be rebuilt often while the index fills.
QUANTIZE_FROM = 16_384
# The rough pass finds this many times the texts asked for, re-ranked on their float32 rows:
# on 20,000 random unit vectors, 200 queries' top 10 came out as the full product's.
RERANK = 8
# Rows appended since the quantized copy was built are scored exactly; when they pass this
# share of the copy, the copy is built again from every row.
TAIL_SHARE = 16


def load_faiss(threads: int) -> Any | None:
    """The faiss module with `threads` threads for its searches, or None when it does not
    import (the index then scores every float32 row)."""
    try:
        import faiss
    except ImportError as exc:
        logging.getLogger("caredesk").warning(
            "faiss did not import (%s): semantic search scores every stored vector", exc
        )
        return None
    faiss.omp_set_num_threads(threads)
    return faiss


class _Quantized:
    """A faiss copy of the matrix's first `rows` rows, never changed once built: a query
    that holds it may search it while a newer one replaces it."""

    def __init__(self, faiss: Any, kind: VectorSearch, rows: Vectors) -> None:
        types = {"sq8": faiss.ScalarQuantizer.QT_8bit, "fp16": faiss.ScalarQuantizer.QT_fp16}
        self._faiss = faiss
        self.index = faiss.IndexScalarQuantizer(
            rows.shape[1], types[kind], faiss.METRIC_INNER_PRODUCT
        )
        self.index.train(rows)
        self.index.add(rows)
        self.rows = len(rows)
        self.code_bytes = int(self.index.sa_code_size()) * self.rows

    def search(
        self, query: Vectors, k: int, wanted_rows: npt.NDArray[np.bool_] | None
    ) -> npt.NDArray[np.int64]:
        """The best `k` rows by the quantized product, among `wanted_rows` when given."""
        params = None
        if wanted_rows is not None:
            bits = np.packbits(wanted_rows, bitorder="little")
            selector = self._faiss.IDSelectorBitmap(len(wanted_rows), self._faiss.swig_ptr(bits))
            params = self._faiss.SearchParameters(sel=selector)
        _, labels = self.index.search(query.reshape(1, -1), k, params=params)
        found: npt.NDArray[np.int64] = labels[0]
        return found[found >= 0]


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """What one query reads: views that later appends and compactions leave alone."""

    rows: Vectors
    starts: npt.NDArray[np.int64]
    owners: npt.NDArray[np.int64]
    kinds: npt.NDArray[np.int8]
    public: npt.NDArray[np.bool_]
    live: npt.NDArray[np.bool_]
    # The quantized copy of the first rows (whole segments), or None: every row is exact.
    quantized: _Quantized | None
    quantized_segments: int


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
    def __init__(
        self,
        dimensions: int,
        *,
        faiss: Any | None = None,
        search: VectorSearch = "exact",
        quantize_from: int | None = None,
    ) -> None:
        self.dimensions = dimensions
        # The quantized rough pass, when faiss is at hand and asked for.
        self._faiss = faiss if search != "exact" else None
        self._search: VectorSearch = search if faiss is not None else "exact"
        self._quantize_from = QUANTIZE_FROM if quantize_from is None else quantize_from
        self._quantized: _Quantized | None = None
        self._quantized_segments = 0
        # How many times the quantized copy was built (its cost is one pass over every row).
        self.quantized_builds = 0
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
            self._quantize_if_due()

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
        # Its rows are numbered as they were: the copy is built again from the new matrix.
        self._quantized = None
        self._quantized_segments = 0

    def _quantize_if_due(self) -> None:
        if self._faiss is None or self._used < max(self._quantize_from, 1):
            return
        built = self._quantized.rows if self._quantized is not None else 0
        if (self._used - built) * TAIL_SHARE <= built:
            return
        self._quantized = _Quantized(self._faiss, self._search, self._rows[: self._used])
        self._quantized_segments = self._segments
        self.quantized_builds += 1

    def memory_bytes(self) -> int:
        """What the rows take: the float32 matrix in use and the quantized copy."""
        copy = self._quantized.code_bytes if self._quantized is not None else 0
        return int(self._rows[: self._used].nbytes) + copy

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
                quantized=self._quantized,
                quantized_segments=self._quantized_segments,
            )

    def nearest(
        self, query: Vectors, kinds: Sequence[SearchKind], public_only: bool, limit: int
    ) -> list[tuple[int, float]]:
        snap = self._snapshot()
        if not len(snap.starts) or limit < 1:
            return []
        vector = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        wanted = snap.live
        if kinds:
            wanted &= np.isin(snap.kinds, [_KIND_CODES[k] for k in kinds])
        if public_only:
            wanted &= snap.public
        if snap.quantized is None:
            segments, best = _exact_best(snap, vector, wanted)
        else:
            segments, best = _rough_then_exact(snap, vector, wanted, limit * RERANK)
        take = min(limit, len(segments))
        if not take:
            return []
        top = np.argpartition(-best, take - 1)[:take]
        top = top[np.lexsort((snap.owners[segments[top]], -best[top]))]
        return [(int(snap.owners[segments[t]]), float(best[t])) for t in top]


def _exact_best(
    snap: _Snapshot, query: Vectors, wanted: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.int64], Vectors]:
    """The wanted segments and their best passages' scores, from every float32 row."""
    scores = snap.rows @ query
    # Each text's best passage: the maximum over its segment's consecutive rows.
    best = np.maximum.reduceat(scores, snap.starts)
    segments = np.flatnonzero(wanted)
    return segments, best[segments]


def _segment_ends(snap: _Snapshot, segments: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    following = np.minimum(segments + 1, len(snap.starts) - 1)
    return np.where(segments + 1 < len(snap.starts), snap.starts[following], len(snap.rows))


def _rescored(snap: _Snapshot, query: Vectors, segments: npt.NDArray[np.int64]) -> Vectors:
    """The exact best-passage score of each of `segments`, from their float32 rows alone."""
    if not len(segments):
        return np.zeros(0, dtype=np.float32)
    firsts = snap.starts[segments]
    counts = _segment_ends(snap, segments) - firsts
    offsets = np.cumsum(counts) - counts
    rows = np.repeat(firsts - offsets, counts) + np.arange(int(counts.sum()))
    scores: Vectors = np.maximum.reduceat(snap.rows[rows] @ query, offsets)
    return scores


def _rough_then_exact(
    snap: _Snapshot, query: Vectors, wanted: npt.NDArray[np.bool_], texts: int
) -> tuple[npt.NDArray[np.int64], Vectors]:
    """The wanted segments among the quantized copy's best `texts` (by their best passage)
    and every wanted segment after the copy, each scored exactly."""
    assert snap.quantized is not None
    quantized = snap.quantized
    copied = snap.quantized_segments
    in_copy = wanted[:copied]
    counts = np.diff(snap.starts[:copied], append=quantized.rows)
    # Masked, filtered-out segments' rows are skipped by the search itself, so that a filter
    # that keeps few texts still finds them all.
    wanted_rows = None if in_copy.all() else np.repeat(in_copy, counts)
    rows_left = int(counts[in_copy].sum())
    covered = min(texts, int(np.count_nonzero(in_copy)))
    found = np.zeros(0, dtype=np.int64)
    # A text's passages are separate rows: take more rows until `texts` texts are among
    # them (a text first appears at its best passage), or every wanted row is.
    k = min(rows_left, math.ceil(texts * quantized.rows / max(copied, 1)))
    while k > 0:
        rows = quantized.search(query, k, wanted_rows)
        found = np.unique(np.searchsorted(snap.starts[:copied], rows, side="right") - 1)
        if len(found) >= covered or k >= rows_left:
            break
        k = min(rows_left, k * 2)
    after = copied + np.flatnonzero(wanted[copied:])
    segments = np.concatenate((found, after)).astype(np.int64)
    return segments, _rescored(snap, query, segments)
