"""Search without I/O: query words, rank and score fusion, and retrieval metrics."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from caredesk.domain.errors import ValidationFailed

K = TypeVar("K", bound=Hashable)

MAX_QUERY_CHARS = 10_000
# Long queries (a whole customer message) keep their most telling words only: each word
# is one posting list to read, and the rarest carry the ranking anyway.
MAX_QUERY_TERMS = 48
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


# Lexical search ranks a bounded set of texts, so that no word, however common, makes one
# query score most of the collection: every text holding one of the query's rarest words
# (rarest first, while their texts number at most this many together), and the newest this
# many texts holding any of its words. Each is then scored on all of the query's words.
LEXICAL_CANDIDATES = 2000


# The lexical side's share in hybrid search. Chosen on development splits (docs/knowledge.md):
# on short question-and-answer texts BM25 matches few words and its ranking is weaker than the
# encoder's, so it gets the smaller say; 0 is semantic only, 1 lexical only.
LEXICAL_WEIGHT = 0.3
WEIGHT_GRID = tuple(round(w * 0.1, 1) for w in range(11))


def min_max(scored: Sequence[tuple[K, float]]) -> dict[K, float]:
    """Scores spread onto 0..1 within one ranking; a ranking of equal scores is all 1."""
    if not scored:
        return {}
    values = [score for _, score in scored]
    low, high = min(values), max(values)
    span = high - low
    return {key: (score - low) / span if span > 0 else 1.0 for key, score in scored}


def convex_fusion(
    lexical: Sequence[tuple[K, float]],
    semantic: Sequence[tuple[K, float]],
    lexical_weight: float = LEXICAL_WEIGHT,
) -> list[tuple[K, float]]:
    """Fuse two scored rankings (higher is better) as w·lexical + (1−w)·semantic on
    min-max normalised scores; an item one side did not return gets 0 from that side.

    Unlike reciprocal rank fusion, the weight says how far each side is trusted, so a weak
    side cannot drag a strong one down by as much as it likes: with the weight chosen on a
    development split, the fused ranking is at least as good as the better side there (the
    grid includes 0 and 1, each side alone). Only one side present: its own order.
    """
    if not lexical or not semantic:
        return sorted(min_max(lexical or semantic).items(), key=lambda item: -item[1])
    weight = min(1.0, max(0.0, lexical_weight))
    lex, sem = min_max(lexical), min_max(semantic)
    keys = list(dict.fromkeys([*(k for k, _ in semantic), *(k for k, _ in lexical)]))
    fused = [(k, weight * lex.get(k, 0.0) + (1 - weight) * sem.get(k, 0.0)) for k in keys]
    return sorted(fused, key=lambda item: -item[1])


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
    # The cosine similarity of the text's best passage to the query, when semantic ran.
    similarity: float | None = None


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


# Which suggestions fit a case: its product and its intent as well as its words.

# Cosine similarity (all-MiniLM-L6-v2) under which a text is not about the case: below it,
# the nearest article is only the least unrelated one. Measured on the demo stories
# (docs/knowledge.md): the right articles scored 0.34 to 0.49, unrelated ones 0.29 at most.
SIMILARITY_FLOOR = 0.3
PRODUCT_BOOST = 0.15
INTENT_BOOST = 0.1
INTENT_PENALTY = 0.15
# Tags that name what a text is about, as intents (the policy's issue types).
TAG_INTENTS: Mapping[str, frozenset[str]] = {
    "returns": frozenset({"return_request"}),
    "refunds": frozenset({"return_request", "billing"}),
    "exchanges": frozenset({"return_request"}),
    "shipping": frozenset({"where_is_my_order", "late_delivery"}),
    "delivery": frozenset({"where_is_my_order", "late_delivery"}),
    "cancellations": frozenset({"cancel_request"}),
    "payments": frozenset({"billing"}),
}
# Intents that say nothing about the subject: no boost, no penalty.
NEUTRAL_INTENTS = frozenset({"complaint", "general", "moment"})


def tag_intents(tags: Iterable[str], intents: Collection[str]) -> frozenset[str]:
    """The `intents` (the policy's issue types) a text's tags name: `wrong-item` is
    `wrong_item`, `returns` is `return_request`; other tags (`printers`) name none."""
    found: set[str] = set()
    for tag in tags:
        key = tag.strip().lower()
        found.update(TAG_INTENTS.get(key, ()))
        found.add(key.replace("-", "_"))
    return frozenset(found & set(intents))


@dataclass(frozen=True, slots=True)
class CaseSubject:
    """What a case is about, beyond its words: the products of its orders and its intent."""

    products: frozenset[str] = frozenset()
    intent: str | None = None


def suggestion_relevance(
    subject: CaseSubject,
    similarity: float | None,
    products: Iterable[str],
    intents: Iterable[str],
) -> float | None:
    """How well a text fits the case, or None when it must not be suggested.

    A text about other products than the case's never fits (the label printer's article
    for an espresso machine). Otherwise the semantic similarity, raised when the text is
    about the case's product or intent and lowered when it is about another intent (returns
    for a printer that stopped working) or about a kind of problem on a case of no known
    kind (late deliveries for a customer asking when a parcel comes). Without the model
    (`similarity` None) every text the words found starts at the floor, so only a mismatch
    takes it out.
    """
    named = frozenset(products)
    if subject.products and named and not (named & subject.products):
        return None
    score = SIMILARITY_FLOOR if similarity is None else similarity
    if subject.products and named & subject.products:
        score += PRODUCT_BOOST
    about = frozenset(intents) - NEUTRAL_INTENTS
    if about and subject.intent and subject.intent not in NEUTRAL_INTENTS:
        score += INTENT_BOOST if subject.intent in about else -INTENT_PENALTY
    elif about and similarity is not None:
        # A text about one kind of problem, on a case whose kind nobody knows (a question,
        # a life moment): its meaning alone must carry it as far as a matching kind would.
        score -= INTENT_BOOST
    return score


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
