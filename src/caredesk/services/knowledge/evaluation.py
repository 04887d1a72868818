"""Measuring search and intent triage on labelled sets, through the desk's own code paths.

Retrieval indexes the documents as knowledge articles in the desk's search index (the same
full-text engine, stored embeddings and rank fusion as `GET /api/v1/search`) and runs each
query through `services.search.search`. Intent evaluation trains with the same trainer as
`caredesk triage train` and predicts with the model it produces.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from caredesk.domain.agents import SYSTEM
from caredesk.domain.errors import ValidationFailed
from caredesk.domain.evaluation import (
    ClassificationScores,
    EvalDocument,
    EvalQuery,
    LabelledText,
    RetrievalScores,
    sample_shots,
    score_classification,
    score_retrieval,
)
from caredesk.domain.search import (
    MAX_QUERY_CHARS,
    WEIGHT_GRID,
    IndexedText,
    SearchKind,
    SearchMode,
    convex_fusion,
)
from caredesk.services.knowledge import search
from caredesk.services.knowledge.ports import IntentTrainer
from caredesk.services.knowledge.unit import KnowledgeUnit

Progress = Callable[[str, int, int], None]
INDEX_BATCH = 500


def _quiet(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True, slots=True)
class RetrievalEvaluation:
    scores: RetrievalScores
    mode: SearchMode
    documents: int
    queries: int
    index_seconds: float
    queries_per_second: float
    depth: int

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            **{k: round(v, 4) for k, v in self.scores.as_dict().items()},
            "index_seconds": round(self.index_seconds, 3),
            "queries_per_second": round(self.queries_per_second, 2),
            "mode": self.mode.value,
            "documents": self.documents,
            "queries": self.queries,
        }


def evaluate_retrieval(
    uow_factory: Callable[[], KnowledgeUnit],
    semantic: search.Semantic | None,
    clock: Callable[[], datetime],
    documents: Sequence[EvalDocument],
    queries: Sequence[EvalQuery],
    qrels: Mapping[str, Mapping[str, int]],
    mode: SearchMode,
    progress: Progress = _quiet,
) -> RetrievalEvaluation:
    """Index `documents` into an empty desk, then rank every query; timed separately.

    Index time covers the full-text index and, unless the mode is lexical, the embeddings.
    """
    if mode is not SearchMode.LEXICAL and semantic is None:
        raise ValidationFailed(f"{mode.value} search needs the embedding model, which did not load")
    _check_labels(documents, qrels)
    started = time.perf_counter()
    _index_documents(uow_factory, semantic, clock, documents, mode, progress)
    by_ref = {str(n): d.id for n, d in enumerate(documents)}
    index_seconds = time.perf_counter() - started
    runs: dict[str, list[str]] = {}
    started = time.perf_counter()
    for number, query in enumerate(queries, start=1):
        result = search.search(
            uow_factory(),
            SYSTEM,
            query.text[:MAX_QUERY_CHARS],
            kinds=[SearchKind.ARTICLE],
            limit=search.MAX_LIMIT,
            mode=mode,
            semantic=semantic,
        )
        runs[query.id] = [by_ref[hit.ref_id] for hit in result.hits]
        progress("searching", number, len(queries))
    query_seconds = time.perf_counter() - started
    judged = {q.id for q in queries}
    scores = score_retrieval(runs, {q: rel for q, rel in qrels.items() if q in judged})
    return RetrievalEvaluation(
        scores=scores,
        mode=mode,
        documents=len(documents),
        queries=len(queries),
        index_seconds=index_seconds,
        queries_per_second=len(queries) / query_seconds if query_seconds > 0 else 0.0,
        depth=search.MAX_LIMIT,
    )


def _check_labels(
    documents: Sequence[EvalDocument], qrels: Mapping[str, Mapping[str, int]]
) -> None:
    known = {d.id for d in documents}
    unknown = sorted({doc for rel in qrels.values() for doc in rel} - known)
    if unknown:
        raise ValidationFailed(
            f"the relevance labels name {len(unknown)} documents not in the documents file, "
            f"e.g. {unknown[0]!r}"
        )


def _index_documents(
    uow_factory: Callable[[], KnowledgeUnit],
    semantic: search.Semantic | None,
    clock: Callable[[], datetime],
    documents: Sequence[EvalDocument],
    mode: SearchMode,
    progress: Progress,
) -> dict[int, str]:
    """Index (and unless lexical, embed) the documents; returns index entry id -> doc id."""
    by_entry: dict[int, str] = {}
    # The index keys texts by short references; document ids may be longer than that.
    for start in range(0, len(documents), INDEX_BATCH):
        with uow_factory() as uow:
            for n, doc in enumerate(documents[start : start + INDEX_BATCH], start=start):
                entry = IndexedText(
                    kind=SearchKind.ARTICLE,
                    ref_id=str(n),
                    title=doc.title,
                    body=uow.formats.plain_text(doc.text),
                )
                uow.search.upsert(entry, clock())
                assert entry.id is not None
                by_entry[entry.id] = doc.id
            uow.commit()
        progress("indexing", min(start + INDEX_BATCH, len(documents)), len(documents))
    if mode is not SearchMode.LEXICAL and semantic is not None:
        embedded = 0
        while True:
            done = search.embed_pending(uow_factory, semantic.embedder, clock, max_batches=1)
            if not done:
                break
            embedded += done
            progress("embedding", embedded, len(documents))
    return by_entry


@dataclass(frozen=True, slots=True)
class FusionComparison:
    """The three modes on one index: the lexical weight chosen on the development half of
    the queries, each mode's scores on the other half, and on every query."""

    weight: float
    configured_weight: float
    dev_queries: int
    test: dict[str, RetrievalScores]
    every_query: dict[str, RetrievalScores]
    documents: int
    queries: int

    def as_dict(self) -> dict[str, object]:
        def figures(scores: RetrievalScores) -> dict[str, float]:
            return {k: round(v, 4) for k, v in scores.as_dict().items()}

        return {
            "weight": self.weight,
            "configured_weight": self.configured_weight,
            "dev_queries": self.dev_queries,
            "test": {mode: figures(s) for mode, s in self.test.items()},
            "all": {mode: figures(s) for mode, s in self.every_query.items()},
            "documents": self.documents,
            "queries": self.queries,
        }


def _both_sides(
    uow_factory: Callable[[], KnowledgeUnit],
    semantic: search.Semantic,
    queries: Sequence[EvalQuery],
    progress: Progress,
) -> dict[str, tuple[search.Scored, search.Scored]]:
    """Each query's lexical and semantic candidates, ranked once for every weight to fuse."""
    sides: dict[str, tuple[search.Scored, search.Scored]] = {}
    for number, query in enumerate(queries, start=1):
        with uow_factory() as uow:
            sides[query.id] = search.ranked(
                uow,
                query.text[:MAX_QUERY_CHARS],
                [SearchKind.ARTICLE],
                False,
                SearchMode.HYBRID,
                semantic,
                search.CANDIDATES,
            )
        progress("searching", number, len(queries))
    return sides


def compare_fusion(
    uow_factory: Callable[[], KnowledgeUnit],
    semantic: search.Semantic,
    clock: Callable[[], datetime],
    documents: Sequence[EvalDocument],
    queries: Sequence[EvalQuery],
    qrels: Mapping[str, Mapping[str, int]],
    progress: Progress = _quiet,
) -> FusionComparison:
    """Index and embed once, rank every query once per side, then fuse the same candidates
    with each weight of the grid: the weight with the best nDCG@10 on the development half
    (every other judged query, by id) is scored on the other half, next to lexical and
    semantic alone, and the desk's configured weight is scored too (`hybrid@configured`)."""
    _check_labels(documents, qrels)
    by_entry = _index_documents(
        uow_factory, semantic, clock, documents, SearchMode.HYBRID, progress
    )
    sides = _both_sides(uow_factory, semantic, queries, progress)

    def run(weight: float) -> dict[str, list[str]]:
        return {
            q: [by_entry[e] for e, _ in convex_fusion(lex, dense, weight)[: search.MAX_LIMIT]]
            for q, (lex, dense) in sides.items()
        }

    judged = sorted(q.id for q in queries if any(r > 0 for r in qrels.get(q.id, {}).values()))
    dev = set(judged[::2])
    test_ids = set(judged) - dev

    def scored(runs: dict[str, list[str]], ids: set[str]) -> RetrievalScores:
        return score_retrieval(runs, {q: qrels[q] for q in ids})

    grid = {w: run(w) for w in WEIGHT_GRID}
    # Ties go to the weight nearest the middle: both sides kept rather than one dropped.
    weight = max(WEIGHT_GRID, key=lambda w: (scored(grid[w], dev).ndcg_at_10, -abs(w - 0.5)))
    configured = round(semantic.lexical_weight, 2)
    runs = {
        "lexical": grid[1.0],
        "semantic": grid[0.0],
        "hybrid": grid[weight],
        "hybrid@configured": grid.get(configured) or run(configured),
    }
    return FusionComparison(
        weight=weight,
        configured_weight=configured,
        dev_queries=len(dev),
        test={m: scored(r, test_ids) for m, r in runs.items()} if test_ids else {},
        every_query={m: scored(r, set(judged)) for m, r in runs.items()},
        documents=len(documents),
        queries=len(queries),
    )


@dataclass(frozen=True, slots=True)
class IntentEvaluation:
    scores: ClassificationScores
    method: str
    train_examples: int
    intents: int
    train_seconds: float
    predictions_per_second: float
    train_cpu_seconds: float = 0.0
    predictions_per_cpu_second: float = 0.0
    epochs: int = 0

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "accuracy": round(self.scores.accuracy, 4),
            "macro_f1": round(self.scores.macro_f1, 4),
            "train_seconds": round(self.train_seconds, 2),
            "predictions_per_second": round(self.predictions_per_second, 1),
            "method": self.method,
            "train_examples": self.train_examples,
            "test_examples": self.scores.examples,
            "intents": self.intents,
            "epochs": self.epochs,
            "train_cpu_seconds": round(self.train_cpu_seconds, 2),
            "predictions_per_cpu_second": round(self.predictions_per_cpu_second, 1),
        }


def evaluate_intents(
    trainer: IntentTrainer,
    train: Sequence[LabelledText],
    test: Sequence[LabelledText],
    *,
    shots: int | None = None,
    seed: int = 0,
) -> IntentEvaluation:
    """Train on `train` (or `shots` examples per intent of it), then predict `test`."""
    if not train or not test:
        raise ValidationFailed("both the training and the test set need examples")
    chosen = sample_shots(train, shots, seed) if shots is not None else list(train)
    intents = sorted({e.label for e in chosen})
    if len(intents) < 2:
        raise ValidationFailed("training needs examples of at least two categories")
    unknown = sorted({e.label for e in test} - set(intents))
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:5])
        raise ValidationFailed(
            f"the test set has {len(unknown)} categories that the training set lacks: {shown}"
        )
    # CPU time too: on a machine shared with other work, wall time says more about the
    # neighbours than about the model.
    started, cpu_started = time.perf_counter(), time.process_time()
    trained = trainer.train([e.text for e in chosen], [e.label for e in chosen], seed)
    classifier = trainer.load(trained.artifact)
    train_seconds = time.perf_counter() - started
    train_cpu_seconds = time.process_time() - cpu_started
    started, cpu_started = time.perf_counter(), time.process_time()
    predicted = classifier.predict([e.text for e in test])
    predict_seconds = time.perf_counter() - started
    predict_cpu_seconds = time.process_time() - cpu_started
    scores = score_classification([e.label for e in test], [label for label, _ in predicted])
    return IntentEvaluation(
        scores=scores,
        method=trained.method,
        train_examples=len(chosen),
        intents=len(intents),
        train_seconds=train_seconds,
        predictions_per_second=len(test) / predict_seconds if predict_seconds > 0 else 0.0,
        train_cpu_seconds=train_cpu_seconds,
        predictions_per_cpu_second=(
            len(test) / predict_cpu_seconds if predict_cpu_seconds > 0 else 0.0
        ),
        epochs=int(trained.metrics.get("epochs", 0)),
    )
