"""Retrieval and intent metrics against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from caredesk.domain.errors import ValidationFailed
from caredesk.domain.evaluation import (
    LabelledText,
    sample_shots,
    score_classification,
    score_retrieval,
    stratified_split,
)


def test_retrieval_figures_are_means_over_judged_queries() -> None:
    qrels = {"q1": {"a": 1, "b": 1}, "q2": {"c": 1}, "unjudged": {"z": 0}}
    runs = {"q1": ["x", "a", "y", "b"], "q2": [], "unjudged": ["z"]}
    scores = score_retrieval(runs, qrels)
    # q1: both relevant found (recall 1), first at rank 2 (RR 1/2), AP (1/2 + 2/4) / 2;
    # DCG 1/log2(3) + 1/log2(5) over the ideal 1 + 1/log2(3). q2 found nothing: all 0.
    ndcg_q1 = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert scores.queries == 2
    assert scores.recall_at_5 == pytest.approx(0.5)
    assert scores.recall_at_10 == pytest.approx(0.5)
    assert scores.mrr_at_10 == pytest.approx(0.25)
    assert scores.map == pytest.approx(0.25)
    assert scores.ndcg_at_10 == pytest.approx(ndcg_q1 / 2)
    assert ndcg_q1 == pytest.approx(0.650921, abs=1e-6)


def test_recall_at_five_misses_what_ranks_sixth() -> None:
    qrels = {"q": {"f": 1, "a": 1}}
    scores = score_retrieval({"q": ["a", "x1", "x2", "x3", "x4", "f"]}, qrels)
    assert scores.recall_at_5 == pytest.approx(0.5)
    assert scores.recall_at_10 == pytest.approx(1.0)
    assert scores.mrr_at_10 == pytest.approx(1.0)
    assert scores.map == pytest.approx((1 / 1 + 2 / 6) / 2)


def test_graded_relevance_weighs_the_better_document() -> None:
    qrels = {"q": {"good": 2, "fair": 1}}
    best = score_retrieval({"q": ["good", "fair"]}, qrels).ndcg_at_10
    swapped = score_retrieval({"q": ["fair", "good"]}, qrels).ndcg_at_10
    assert best == pytest.approx(1.0)
    # DCG (2^1-1)/1 + (2^2-1)/log2(3) over the ideal 3/1 + 1/log2(3).
    assert swapped == pytest.approx((1 + 3 / math.log2(3)) / (3 + 1 / math.log2(3)))


def test_retrieval_needs_a_judged_query() -> None:
    with pytest.raises(ValidationFailed):
        score_retrieval({"q": ["a"]}, {"q": {"a": 0}})


def test_accuracy_and_macro_f1() -> None:
    scores = score_classification(["a", "a", "b", "c"], ["a", "b", "b", "b"])
    # F1 per label: a 2*1/(2+1), b 2*1/(1+3), c 0 (never predicted right).
    assert scores.accuracy == pytest.approx(0.5)
    assert scores.macro_f1 == pytest.approx((2 / 3 + 0.5 + 0) / 3)


def test_a_label_only_predicted_counts_in_macro_f1() -> None:
    scores = score_classification(["a", "a"], ["a", "z"])
    assert scores.macro_f1 == pytest.approx((2 / 3 + 0) / 2)


def test_an_empty_test_set_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        score_classification([], [])


def _examples(per_label: dict[str, int]) -> list[LabelledText]:
    return [
        LabelledText(text=f"{label} {n}", label=label)
        for label, count in per_label.items()
        for n in range(count)
    ]


def test_shots_are_per_label_and_fixed_by_the_seed() -> None:
    examples = _examples({"a": 20, "b": 20, "c": 3})
    chosen = sample_shots(examples, 5, seed=7)
    counts = {label: sum(e.label == label for e in chosen) for label in "abc"}
    assert counts == {"a": 5, "b": 5, "c": 3}
    assert sample_shots(examples, 5, seed=7) == chosen
    assert sample_shots(examples, 5, seed=8) != chosen


def test_shots_must_be_positive() -> None:
    with pytest.raises(ValidationFailed):
        sample_shots(_examples({"a": 2}), 0, seed=0)


def test_stratified_split_holds_out_a_share_of_every_label() -> None:
    examples = _examples({"a": 50, "b": 10, "c": 2})
    kept, held = stratified_split(examples, 0.1, seed=0)
    held_counts = {label: sum(e.label == label for e in held) for label in "abc"}
    assert held_counts == {"a": 5, "b": 1, "c": 1}
    assert len(kept) + len(held) == len(examples)
    assert not set(kept) & set(held)
