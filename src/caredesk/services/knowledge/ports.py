"""What the knowledge base, search and triage need from the outside world."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from caredesk.domain.intents import CaseTriage, IntentLabel, IntentModelInfo
from caredesk.domain.knowledge import (
    Article,
    ArticleKind,
    ArticleStatus,
    ArticleVersion,
    KnownIssue,
)
from caredesk.domain.knowledge import Visibility as Visibility
from caredesk.domain.search import IndexedText, SearchKind
from caredesk.domain.triage import RoutingRule
from caredesk.services.core.ports import Repository

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class ArticleFilter:
    kind: ArticleKind | None = None
    status: ArticleStatus | None = None
    visibility: Visibility | None = None
    tag: str | None = None
    product_id: str | None = None
    locale: str | None = None


class ArticleRepository(Protocol):
    def add(self, article: Article) -> None: ...

    def get(self, article_id: int) -> Article | None: ...

    def many(self, article_ids: Collection[int]) -> list[Article]:
        """The articles of these ids (those that exist), in one query."""
        ...

    def get_by_slug(self, slug: str) -> Article | None: ...

    def save(self, article: Article, expected_version: int) -> None:
        """Persist changes (the caller bumped `version`); refuse if someone saved between."""
        ...

    def delete(self, article_id: int) -> None: ...

    def find(
        self, filters: ArticleFilter, limit: int, after_id: int | None
    ) -> tuple[list[Article], int | None]: ...

    def iterate(self) -> Iterator[Article]: ...

    def published_macros(self, limit: int) -> list[Article]:
        """The first `limit` published macros, by id."""
        ...

    def add_version(self, version: ArticleVersion) -> None: ...

    def versions(self, article_id: int) -> list[ArticleVersion]: ...


class KnownIssueRepository(Repository[KnownIssue, int], Protocol):
    def get_by_key(self, key: str) -> KnownIssue | None: ...

    def all(self, active_only: bool = False) -> list[KnownIssue]: ...

    def affecting(self, product_ids: set[str], variant_ids: set[str]) -> list[KnownIssue]: ...


@dataclass(frozen=True, slots=True)
class PendingEmbedding:
    id: int
    title: str
    body: str
    content_hash: str


@dataclass(frozen=True, slots=True)
class NewEmbedding:
    """Vectors computed from the text with `content_hash`, to store with that text."""

    id: int
    content_hash: str
    vectors: bytes


@dataclass(frozen=True, slots=True)
class StoredEmbedding:
    id: int
    kind: SearchKind
    public: bool
    vectors: bytes
    embedded_at: datetime


@dataclass(frozen=True, slots=True)
class EmbeddingsStamp:
    """How many texts were embedded at or after some time (up to a bound), and the latest of
    them: while it stays the same, a copy read from that time on has nothing new to read."""

    count: int
    latest: datetime | None


@dataclass(frozen=True, slots=True)
class IndexState:
    """Enough to tell whether an in-memory copy of the stored embeddings is stale."""

    embedded: int
    last_embedded_at: datetime | None
    entries: int
    pending: int


class SearchIndexRepository(Protocol):
    def upsert(self, text: IndexedText, now: datetime) -> None:
        """Add or replace a text; a changed text is queued for embedding again."""
        ...

    def remove(self, kind: SearchKind, ref_id: str) -> None: ...

    def lexical(
        self, terms: Sequence[str], kinds: Sequence[SearchKind], public_only: bool, limit: int
    ) -> list[tuple[int, float]]:
        """(entry id, score) best first, higher is better (BM25 negated on SQLite, ts_rank
        on PostgreSQL); any term matches. Only a bounded set of candidates is ranked (see
        LEXICAL_CANDIDATES in domain/search.py), each on every term."""
        ...

    def entries(self, ids: Sequence[int]) -> dict[int, IndexedText]: ...

    def pending(self, limit: int) -> list[PendingEmbedding]: ...

    def store_embeddings(
        self, embeddings: Sequence[NewEmbedding], model: str, now: datetime
    ) -> None:
        """Store each text's vectors, unless its text changed since they were computed (it
        is queued again and will be embedded anew)."""
        ...

    def embeddings_since(self, since: datetime | None) -> list[StoredEmbedding]: ...

    def embeddings_stamp(self, since: datetime, most: int) -> EmbeddingsStamp:
        """How many texts were embedded at or after `since`, counting the newest `most` at
        most, and the latest time: it reads no more than `most` entries of an index."""
        ...

    def embedded_versions(self, since: datetime) -> dict[int, datetime]:
        """When each text embedded at or after `since` was embedded, by entry id."""
        ...

    def embeddings(self, ids: Sequence[int]) -> list[StoredEmbedding]:
        """The stored vectors of these texts (those that have some)."""
        ...

    def state(self) -> IndexState: ...


class TriageRepository(Protocol):
    def rules(self) -> list[RoutingRule]: ...

    def get_rule(self, rule_id: int) -> RoutingRule | None: ...

    def add_rule(self, rule: RoutingRule, actor: str, now: datetime) -> None: ...

    def save_rule(self, rule: RoutingRule, actor: str, now: datetime) -> None: ...

    def delete_rule(self, rule_id: int) -> None: ...

    def add_label(self, label: IntentLabel) -> None: ...

    def labels(self) -> list[IntentLabel]:
        """Every labelled example; for a case, only its latest label."""
        ...

    def add_model(self, info: IntentModelInfo, artifact: bytes) -> None: ...

    def activate_model(self, version: int) -> None: ...

    def models(self) -> list[IntentModelInfo]: ...

    def active_model(self) -> IntentModelInfo | None: ...

    def active_model_version(self) -> int | None:
        """The version of the model in force (what triage asks on every message), alone."""
        ...

    def model_artifact(self, version: int) -> bytes | None: ...

    def next_model_version(self) -> int: ...

    def save_case_triage(self, triage: CaseTriage) -> None: ...

    def case_triage(self, case_id: int) -> CaseTriage | None: ...


class Embedder(Protocol):
    """Sentence embeddings: unit-length float32 rows, one per text."""

    @property
    def model_name(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...


class VectorIndex(Protocol):
    """The stored embeddings, held in memory for nearest-neighbour lookups."""

    def refresh(self, index: SearchIndexRepository) -> None: ...

    def discard(self, entry_ids: Collection[int]) -> None:
        """Forget texts a query found gone from the index (removed since they were read)."""
        ...

    def nearest(
        self, query: Vectors, kinds: Sequence[SearchKind], public_only: bool, limit: int
    ) -> list[tuple[int, float]]:
        """(entry id, cosine similarity of its best passage) best first."""
        ...


class SentimentAnalyzer(Protocol):
    def polarity(self, text: str) -> float:
        """From -1 (very negative) to 1 (very positive)."""
        ...


@dataclass(frozen=True, slots=True)
class TrainedModel:
    method: str
    labels: list[str]
    artifact: bytes
    metrics: dict[str, Any]


class IntentClassifier(Protocol):
    @property
    def labels(self) -> list[str]: ...

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """The most likely intent of each text, with its probability."""
        ...


class IntentTrainer(Protocol):
    def train(self, texts: Sequence[str], labels: Sequence[str], seed: int) -> TrainedModel: ...

    def load(self, artifact: bytes) -> IntentClassifier:
        """The classifier stored in `artifact`; ValueError when it cannot be read."""
        ...


# A unit of work that reaches these repositories: features compose their own unit from these.
class HasArticles(Protocol):
    @property
    def articles(self) -> ArticleRepository: ...


class HasKnownIssues(Protocol):
    @property
    def known_issues(self) -> KnownIssueRepository: ...


class HasSearch(Protocol):
    @property
    def search(self) -> SearchIndexRepository: ...


class HasTriage(Protocol):
    @property
    def triage(self) -> TriageRepository: ...
