"""Knowledge base, search index and triage (revision 0004)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.adapters.db.models.base import Base, BigId
from caredesk.adapters.db.types import JsonType, UTCDateTime


class ArticleRow(Base):
    __tablename__ = "kb_articles"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # What the desk does about it, for agents only (revision 0017).
    internal_notes: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JsonType)
    product_ids: Mapped[list[str]] = mapped_column(JsonType)
    locale: Mapped[str] = mapped_column(String(35))
    visibility: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    author: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_kb_articles_updated", "updated_at", "id"),)
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class ArticleVersionRow(Base):
    __tablename__ = "kb_article_versions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    internal_notes: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JsonType)
    product_ids: Mapped[list[str]] = mapped_column(JsonType)
    locale: Mapped[str] = mapped_column(String(35))
    visibility: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    author: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("article_id", "version", name="uq_kb_article_versions_article_version"),
    )


class KnownIssueRow(Base):
    __tablename__ = "known_issues"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    product_ids: Mapped[list[str]] = mapped_column(JsonType)
    variant_ids: Mapped[list[str]] = mapped_column(JsonType)
    conditions: Mapped[list[str]] = mapped_column(JsonType)
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="SET NULL")
    )
    program_id: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


class SearchEntryRow(Base):
    """One searchable text (an article, a macro or a solved case) and its stored embedding."""

    __tablename__ = "search_entries"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    ref_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(35))
    public: Mapped[bool] = mapped_column(Boolean)
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # float32 vectors, one per passage, concatenated; NULL until the embedder has run.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(String(120))
    embedded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    needs_embedding: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        UniqueConstraint("kind", "ref_id", name="uq_search_entries_kind_ref"),
        Index("ix_search_entries_pending", "needs_embedding", "id"),
        Index("ix_search_entries_embedded", "embedded_at"),
    )


class RoutingRuleRow(Base):
    __tablename__ = "routing_rules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(JsonType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


class IntentLabelRow(Base):
    """A labelled example for the intent model: an agent's choice or correction, or an import."""

    __tablename__ = "intent_labels"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_intent_labels_case", "case_id", "id"),)


class IntentModelRow(Base):
    __tablename__ = "intent_models"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    method: Mapped[str] = mapped_column(String(60))
    labels: Mapped[list[str]] = mapped_column(JsonType)
    examples: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(JsonType)
    artifact: Mapped[bytes] = mapped_column(LargeBinary)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime)
    trained_by: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, index=True)


class CaseTriageRow(Base):
    """The latest triage of a case, with the confidences behind what it wrote on the case."""

    __tablename__ = "case_triage"
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    intent: Mapped[str | None] = mapped_column(String(64))
    intent_confidence: Mapped[float] = mapped_column(Float)
    intent_source: Mapped[str] = mapped_column(String(20))
    model_version: Mapped[int | None] = mapped_column(Integer)
    sentiment: Mapped[float] = mapped_column(Float)
    public_risk: Mapped[bool] = mapped_column(Boolean)
    public_risk_confidence: Mapped[float] = mapped_column(Float)
    risk_signals: Mapped[list[str]] = mapped_column(JsonType)
    moments: Mapped[list[str]] = mapped_column(JsonType)
    known_issues: Mapped[list[str]] = mapped_column(JsonType)
    language: Mapped[str] = mapped_column(String(35))
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    suggestions: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    triaged_at: Mapped[datetime] = mapped_column(UTCDateTime)
