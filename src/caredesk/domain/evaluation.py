"""Scoring the desk's search and triage against labelled data, without I/O.

Retrieval figures are the TREC ones (per-query metrics in `domain/search.py`), averaged
over the queries that have at least one relevant document, as trec_eval does. Intent
figures are accuracy and macro-F1 over every intent seen in the gold or predicted labels,
as scikit-learn computes them.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from caredesk.domain.errors import ValidationFailed
from caredesk.domain.search import average_precision, mrr_at, ndcg_at, recall_at


@dataclass(frozen=True, slots=True)
class EvalDocument:
    id: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class EvalQuery:
    id: str
    text: str


@dataclass(frozen=True, slots=True)
class RetrievalScores:
    """Means over the judged queries; every figure is a fraction between 0 and 1."""

    recall_at_5: float
    recall_at_10: float
    mrr_at_10: float
    ndcg_at_10: float
    map: float
    queries: int
    # The share of queries whose first result is relevant: how often the top is right.
    hit_at_1: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "hit@1": self.hit_at_1,
            "recall@5": self.recall_at_5,
            "recall@10": self.recall_at_10,
            "MRR@10": self.mrr_at_10,
            "nDCG@10": self.ndcg_at_10,
            "MAP": self.map,
        }


def score_retrieval(
    runs: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]
) -> RetrievalScores:
    """`runs` maps a query id to the doc ids returned, best first; `qrels` to graded
    relevance. A judged query with no run counts as one that found nothing."""
    judged = [q for q, relevant in qrels.items() if any(r > 0 for r in relevant.values())]
    if not judged:
        raise ValidationFailed("no query has a relevant document: nothing to score")
    totals = [0.0] * 6
    for query_id in judged:
        ranked, relevant = runs.get(query_id, ()), qrels[query_id]
        figures = (
            float(bool(ranked) and relevant.get(ranked[0], 0) > 0),
            recall_at(ranked, relevant, 5),
            recall_at(ranked, relevant, 10),
            mrr_at(ranked, relevant, 10),
            ndcg_at(ranked, relevant, 10),
            average_precision(ranked, relevant),
        )
        totals = [t + f for t, f in zip(totals, figures, strict=True)]
    n = len(judged)
    hit_1, recall_5, recall_10, mrr, ndcg, mean_ap = (t / n for t in totals)
    return RetrievalScores(recall_5, recall_10, mrr, ndcg, mean_ap, queries=n, hit_at_1=hit_1)


@dataclass(frozen=True, slots=True)
class LabelledText:
    text: str
    label: str


@dataclass(frozen=True, slots=True)
class ClassificationScores:
    accuracy: float
    macro_f1: float
    examples: int


def score_classification(gold: Sequence[str], predicted: Sequence[str]) -> ClassificationScores:
    if len(gold) != len(predicted):
        raise ValueError("as many predictions as gold labels are needed")
    if not gold:
        raise ValidationFailed("there is nothing to score: the test set is empty")
    true_positive: dict[str, int] = defaultdict(int)
    gold_count: dict[str, int] = defaultdict(int)
    predicted_count: dict[str, int] = defaultdict(int)
    for g, p in zip(gold, predicted, strict=True):
        gold_count[g] += 1
        predicted_count[p] += 1
        if g == p:
            true_positive[g] += 1
    labels = set(gold_count) | set(predicted_count)
    f1_sum = 0.0
    for label in labels:
        tp = true_positive[label]
        # F1 = 2tp / (2tp + fp + fn); an intent never right scores 0.
        denominator = gold_count[label] + predicted_count[label]
        f1_sum += 2 * tp / denominator if denominator else 0.0
    return ClassificationScores(
        accuracy=sum(true_positive.values()) / len(gold),
        macro_f1=f1_sum / len(labels),
        examples=len(gold),
    )


def sample_shots(examples: Sequence[LabelledText], shots: int, seed: int) -> list[LabelledText]:
    """`shots` examples of each label (all of a label that has fewer), drawn with `seed`.

    The draw depends only on the examples, `shots` and `seed`, never on dict or set order,
    so one seed names one training set.
    """
    if shots < 1:
        raise ValidationFailed("--shots must be at least 1", details={"field": "shots"})
    by_label: dict[str, list[LabelledText]] = defaultdict(list)
    for example in examples:
        by_label[example.label].append(example)
    rng = random.Random(seed)
    chosen: list[LabelledText] = []
    for label in sorted(by_label):
        pool = by_label[label]
        chosen.extend(pool if len(pool) <= shots else rng.sample(pool, shots))
    return chosen


def stratified_split(
    examples: Sequence[LabelledText], held_out: float, seed: int
) -> tuple[list[LabelledText], list[LabelledText]]:
    """Hold out about `held_out` of each label (at least one, when it has two or more)."""
    if not 0 < held_out < 1:
        raise ValidationFailed("the held-out share must be between 0 and 1")
    by_label: dict[str, list[LabelledText]] = defaultdict(list)
    for example in examples:
        by_label[example.label].append(example)
    rng = random.Random(seed)
    kept: list[LabelledText] = []
    test: list[LabelledText] = []
    for label in sorted(by_label):
        pool = list(by_label[label])
        rng.shuffle(pool)
        take = min(len(pool) - 1, max(1, round(len(pool) * held_out)))
        test.extend(pool[:take])
        kept.extend(pool[take:])
    return kept, test
