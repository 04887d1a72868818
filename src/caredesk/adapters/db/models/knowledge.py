"""Knowledge base, search index and triage (revision 0004)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.adapters.db.models.base import (
    Actor,
    Base,
    BigPk,
    CaseOwned,
    Code,
    IntPk,
    Key,
    Locale,
)


class ArticleRow(Base):
    __tablename__ = "kb_articles"
    id: Mapped[BigPk]
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[Code]
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str]
    body_html: Mapped[str]
    # What the desk does about it, for agents only (revision 0017).
    internal_notes: Mapped[str]
    tags: Mapped[list[str]]
    product_ids: Mapped[list[str]]
    locale: Mapped[Locale]
    visibility: Mapped[Code]
    status: Mapped[Code]
    author: Mapped[Actor]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column()

    __table_args__ = (Index("ix_kb_articles_updated", "updated_at", "id"),)
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class ArticleVersionRow(Base):
    __tablename__ = "kb_article_versions"
    id: Mapped[BigPk]
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str]
    internal_notes: Mapped[str]
    tags: Mapped[list[str]]
    product_ids: Mapped[list[str]]
    locale: Mapped[Locale]
    visibility: Mapped[Code]
    status: Mapped[Code]
    author: Mapped[Actor]
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("article_id", "version", name="uq_kb_article_versions_article_version"),
    )


class KnownIssueRow(Base):
    __tablename__ = "known_issues"
    id: Mapped[IntPk]
    key: Mapped[Key] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str]
    product_ids: Mapped[list[str]]
    variant_ids: Mapped[list[str]]
    conditions: Mapped[list[str]]
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="SET NULL")
    )
    program_id: Mapped[Key | None]
    active: Mapped[bool] = mapped_column(index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column()

    __mapper_args__ = {"version_id_col": version}


class SearchEntryRow(Base):
    """One searchable text (an article, a macro or a solved case) and its stored embedding."""

    __tablename__ = "search_entries"
    id: Mapped[BigPk]
    kind: Mapped[Code]
    ref_id: Mapped[Key]
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str]
    locale: Mapped[Locale]
    public: Mapped[bool]
    content_hash: Mapped[Key]
    updated_at: Mapped[datetime]
    # float32 vectors, one per passage, concatenated; NULL until the embedder has run.
    embedding: Mapped[bytes | None]
    embedding_model: Mapped[str | None] = mapped_column(String(120))
    embedded_at: Mapped[datetime | None]
    needs_embedding: Mapped[bool]

    __table_args__ = (
        UniqueConstraint("kind", "ref_id", name="uq_search_entries_kind_ref"),
        Index("ix_search_entries_pending", "needs_embedding", "id"),
        Index("ix_search_entries_embedded", "embedded_at"),
    )


class RoutingRuleRow(Base):
    __tablename__ = "routing_rules"
    id: Mapped[IntPk]
    position: Mapped[int]
    spec: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]
    updated_by: Mapped[Actor]
    version: Mapped[int] = mapped_column()

    __mapper_args__ = {"version_id_col": version}


class IntentLabelRow(Base):
    """A labelled example for the intent model: an agent's choice or correction, or an import."""

    __tablename__ = "intent_labels"
    id: Mapped[BigPk]
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    text: Mapped[str]
    intent: Mapped[Key]
    source: Mapped[Code]
    created_by: Mapped[Actor]
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_intent_labels_case", "case_id", "id"),)


class IntentModelRow(Base):
    __tablename__ = "intent_models"
    id: Mapped[IntPk]
    version: Mapped[int] = mapped_column(unique=True)
    method: Mapped[str] = mapped_column(String(60))
    labels: Mapped[list[str]]
    examples: Mapped[int]
    metrics: Mapped[dict[str, Any]]
    artifact: Mapped[bytes]
    trained_at: Mapped[datetime]
    trained_by: Mapped[Actor]
    active: Mapped[bool] = mapped_column(index=True)


class CaseTriageRow(Base):
    """The latest triage of a case, with the confidences behind what it wrote on the case."""

    __tablename__ = "case_triage"
    case_id: Mapped[CaseOwned] = mapped_column(primary_key=True)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    intent: Mapped[Key | None]
    intent_confidence: Mapped[float]
    intent_source: Mapped[Code]
    model_version: Mapped[int | None]
    sentiment: Mapped[float]
    public_risk: Mapped[bool]
    public_risk_confidence: Mapped[float]
    risk_signals: Mapped[list[str]]
    moments: Mapped[list[str]]
    known_issues: Mapped[list[str]]
    language: Mapped[Locale]
    rules: Mapped[list[dict[str, Any]]]
    suggestions: Mapped[list[dict[str, Any]]]
    triaged_at: Mapped[datetime]
