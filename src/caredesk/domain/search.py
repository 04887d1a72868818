"""Search without I/O: query words, reciprocal rank fusion, and retrieval metrics."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from caredesk.domain.errors import ValidationFailed

K = TypeVar("K", bound=Hashable)

MAX_QUERY_CHARS = 10_000
# Long queries (a whole customer message) keep their most telling words only: each word
# is one posting list to read, and the rarest carry the ranking anyway.
MAX_QUERY_TERMS = 48
RRF_K = 60
_WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "im",
        "ive",
        "dont",
        "didnt",
        "cant",
        "wont",
        "isnt",
        "its",
        "also",
        "get",
        "got",
        "one",
        "would",
        "like",
    ]
)


class SearchKind(StrEnum):
    ARTICLE = "article"
    CASE = "case"
    MACRO = "macro"


class SearchMode(StrEnum):
    LEXICAL = "lexical"
    SEMANTIC = "semantic"
    HYBRID = "hybrid"


def check_query(raw: str) -> str:
    query = raw.strip()
    if not query:
        raise ValidationFailed("the search query is empty", details={"field": "q"})
    if len(query) > MAX_QUERY_CHARS:
        raise ValidationFailed(
            f"the search query is longer than {MAX_QUERY_CHARS} characters",
            details={"field": "q", "limit": MAX_QUERY_CHARS},
        )
    return query


def query_terms(raw: str, limit: int = MAX_QUERY_TERMS) -> list[str]:
    """The words to look up: lower-cased, stopwords dropped (unless nothing else is left),
    each once, longest first when there are more than `limit` (long words are rarer)."""
    words = [w.lower() for w in _WORD.findall(raw)]
    unique = list(dict.fromkeys(words))
    kept = [w for w in unique if w not in STOPWORDS and not (len(w) == 1 and w.isalpha())]
    kept = kept or unique
    if len(kept) > limit:
        longest = set(sorted(kept, key=lambda w: (-len(w), kept.index(w)))[:limit])
        kept = [w for w in kept if w in longest]
    return kept


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[K]], k: int = RRF_K, weights: Sequence[float] | None = None
) -> list[tuple[K, float]]:
    """Fuse ranked lists: each item scores sum(weight / (k + rank)); best first, stable."""
    scores: dict[K, float] = {}
    for index, ranking in enumerate(rankings):
        weight = weights[index] if weights else 1.0
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


@dataclass(frozen=True, slots=True)
class SearchHit:
    kind: SearchKind
    ref_id: str
    title: str
    snippet: str
    score: float
    lexical_rank: int | None = None
    semantic_rank: int | None = None
    public: bool = False


def snippet(text: str, terms: Iterable[str], width: int = 240) -> str:
    """A window of the text around the first query word found, else its start."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    lowered = flat.lower()
    positions = [p for p in (lowered.find(t) for t in terms) if p >= 0]
    start = max(0, min(positions) - width // 4) if positions else 0
    piece = flat[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")


# Retrieval metrics, as TREC defines them; `relevant` maps doc id to graded relevance.


def recall_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    wanted = {d for d, r in relevant.items() if r > 0}
    if not wanted:
        return 0.0
    return len(wanted & set(ranked[:k])) / len(wanted)


def mrr_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    for rank, doc in enumerate(ranked[:k], start=1):
        if relevant.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    gains = sorted((r for r in relevant.values() if r > 0), reverse=True)[:k]
    ideal = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains))
    if ideal == 0:
        return 0.0
    dcg = sum(
        (2 ** relevant.get(doc, 0) - 1) / math.log2(i + 2) for i, doc in enumerate(ranked[:k])
    )
    return float(dcg / ideal)


def average_precision(ranked: Sequence[str], relevant: Mapping[str, int]) -> float:
    wanted = {d for d, r in relevant.items() if r > 0}
    if not wanted:
        return 0.0
    hits, total = 0, 0.0
    for rank, doc in enumerate(ranked, start=1):
        if doc in wanted:
            hits += 1
            total += hits / rank
    return total / len(wanted)


@dataclass(slots=True)
class IndexedText:
    """A searchable text as the index stores it."""

    kind: SearchKind
    ref_id: str
    title: str
    body: str
    locale: str = "en"
    public: bool = False
    id: int | None = None

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(f"{self.title}\n{self.body}".encode()).hexdigest()


PASSAGE_WORDS = 160
PASSAGE_OVERLAP = 40
MAX_PASSAGES = 16


def passages(
    title: str,
    body: str,
    size: int = PASSAGE_WORDS,
    overlap: int = PASSAGE_OVERLAP,
    limit: int = MAX_PASSAGES,
) -> list[str]:
    """Overlapping windows of words, each led by the title: the encoder reads ~256 tokens,
    so a long text is embedded as several passages and scored by its best one."""
    words = body.split()
    if len(words) <= size:
        return [f"{title}. {' '.join(words)}".strip()]
    step = max(1, size - overlap)
    chunks = []
    for start in range(0, len(words), step):
        chunks.append(f"{title}. {' '.join(words[start : start + size])}")
        if start + size >= len(words) or len(chunks) == limit:
            break
    return chunks
