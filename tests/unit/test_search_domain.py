"""Search without I/O: query checks, query words, reciprocal rank fusion, metrics, passages."""

from __future__ import annotations

import math

import pytest

from caredesk.domain.errors import ValidationFailed
from caredesk.domain.search import (
    MAX_QUERY_CHARS,
    RRF_K,
    IndexedText,
    SearchKind,
    average_precision,
    check_query,
    mrr_at,
    ndcg_at,
    passages,
    query_terms,
    recall_at,
    reciprocal_rank_fusion,
    snippet,
)


@pytest.mark.parametrize("raw", ["", "   ", "\n\t"])
def test_empty_query_is_refused(raw: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_query(raw)
    assert caught.value.details["field"] == "q"


def test_enormous_query_is_refused_but_the_limit_itself_is_fine() -> None:
    assert check_query("  a" * 1 + "b" * (MAX_QUERY_CHARS - 1)) == "a" + "b" * (MAX_QUERY_CHARS - 1)
    with pytest.raises(ValidationFailed):
        check_query("x" * (MAX_QUERY_CHARS + 1))


def test_query_terms_drop_stopwords_and_repeats() -> None:
    assert query_terms("Where is MY order? my ORDER!") == ["order"]
    # Only stopwords: keep them rather than search for nothing.
    assert query_terms("where is it") == ["where", "is", "it"]
    assert query_terms("!!! ??? ...") == []
    assert query_terms("日本語 注文") == ["日本語", "注文"]
    assert query_terms("a b c") == ["a", "b", "c"]


def test_long_queries_keep_their_longest_words_in_order() -> None:
    words = [f"w{'x' * n}" for n in range(60)]
    kept = query_terms(" ".join(words), limit=5)
    assert kept == words[-5:]


def test_rrf_rewards_agreement_and_is_stable() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c", "e"], ["d", "b", "e", "a"]])
    keys = [key for key, _ in fused]
    assert keys[0] == "b"  # second in both beats first in one and last in the other
    assert set(keys) == {"a", "b", "c", "d", "e"}
    scores = dict(fused)
    assert scores["b"] == pytest.approx(2 / (RRF_K + 2))
    assert scores["c"] == pytest.approx(1 / (RRF_K + 3))
    # Ties keep the order of first appearance.
    assert [k for k, _ in reciprocal_rank_fusion([["x", "y"], ["y", "x"]])] == ["x", "y"]


def test_rrf_with_one_empty_ranking_keeps_the_other() -> None:
    assert [k for k, _ in reciprocal_rank_fusion([[3, 1, 2], []])] == [3, 1, 2]
    assert reciprocal_rank_fusion([[], []]) == []


def test_rrf_weights() -> None:
    fused = reciprocal_rank_fusion([["a"], ["b"]], weights=[1.0, 2.0])
    assert [k for k, _ in fused] == ["b", "a"]


def test_metrics_against_hand_computed_values() -> None:
    ranked = ["d1", "d2", "d3", "d4"]
    relevant = {"d2": 1, "d4": 2, "d9": 1}
    assert recall_at(ranked, relevant, 2) == pytest.approx(1 / 3)
    assert recall_at(ranked, relevant, 10) == pytest.approx(2 / 3)
    assert mrr_at(ranked, relevant, 10) == pytest.approx(0.5)
    assert mrr_at(ranked, relevant, 1) == 0.0
    dcg = 1 / math.log2(3) + 3 / math.log2(5)
    ideal = 3 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at(ranked, relevant, 10) == pytest.approx(dcg / ideal)
    assert average_precision(ranked, relevant) == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert ndcg_at(ranked, {}, 10) == recall_at(ranked, {}, 5) == average_precision(ranked, {})
    assert ndcg_at(["d4", "d2"], {"d4": 2, "d2": 1}, 10) == pytest.approx(1.0)


def test_snippet_centres_on_the_first_query_word() -> None:
    text = "start " + "filler " * 100 + "the printer driver " + "tail " * 100
    piece = snippet(text, ["printer"], width=80)
    assert "printer" in piece and piece.startswith("…") and piece.endswith("…")
    assert snippet("short  text\n here", ["x"]) == "short text here"
    assert snippet(text, ["absent"], width=20).startswith("start")


def test_passages_lead_with_the_title_and_overlap() -> None:
    assert passages("Title", "a few words") == ["Title. a few words"]
    body = " ".join(f"w{i}" for i in range(400))
    chunks = passages("T", body, size=160, overlap=40)
    assert all(c.startswith("T. ") for c in chunks)
    assert chunks[1].split()[1] == "w120"  # the second window starts 120 words in
    assert chunks[-1].endswith("w399")
    assert len(passages("T", " ".join(["w"] * 100_000))) == 16


def test_content_hash_changes_with_title_or_body() -> None:
    base = IndexedText(SearchKind.ARTICLE, "1", "Title", "Body")
    assert base.content_hash == IndexedText(SearchKind.CASE, "2", "Title", "Body").content_hash
    assert base.content_hash != IndexedText(SearchKind.ARTICLE, "1", "Title", "Body!").content_hash
    assert base.content_hash != IndexedText(SearchKind.ARTICLE, "1", "Title2", "Body").content_hash
