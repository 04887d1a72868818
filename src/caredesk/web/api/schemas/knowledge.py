"""Request and response bodies of the knowledge base, search and triage."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, Field, StringConstraints

from caredesk.domain.intents import CaseTriage, IntentModelInfo
from caredesk.domain.knowledge import (
    Article,
    ArticleKind,
    ArticleStatus,
    ArticleVersion,
    KnownIssue,
    Visibility,
)
from caredesk.domain.search import MAX_QUERY_CHARS, SearchHit, SearchKind, SearchMode
from caredesk.domain.triage import RoutingRule, RoutingRuleSpec
from caredesk.services.knowledge.search import SuggestedProgram
from caredesk.web.api.schemas.base import OutOf, Strict

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Body = Annotated[str, StringConstraints(max_length=200_000)]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# Ids and positions as the database columns can hold them (64-bit ids, 32-bit positions).
ArticleId = Annotated[int, Field(ge=1, le=2**63 - 1)]
Position = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]


InternalNotes = Annotated[
    str,
    StringConstraints(max_length=200_000),
    Field(
        description="What the desk does about it, in Markdown: agents read it, customers never "
        "do, and it never goes into a reply. A macro has none."
    ),
]


class ArticleIn(Strict):
    title: Title
    body: Body = ""
    internal_notes: InternalNotes = ""
    slug: Annotated[str, StringConstraints(max_length=200)] | None = None
    kind: ArticleKind = ArticleKind.ARTICLE
    tags: list[str] = Field(default_factory=list, max_length=50)
    product_ids: list[Ref] = Field(default_factory=list, max_length=200)
    locale: Annotated[str, StringConstraints(max_length=35)] = "en"
    visibility: Visibility = Visibility.INTERNAL
    status: ArticleStatus = ArticleStatus.DRAFT


class ArticlePatch(Strict):
    version: int | None = Field(default=None, description="The version you read (or If-Match).")
    title: Title | None = None
    body: Body | None = None
    internal_notes: InternalNotes | None = None
    slug: Annotated[str, StringConstraints(max_length=200)] | None = None
    kind: ArticleKind | None = None
    tags: list[str] | None = Field(default=None, max_length=50)
    product_ids: list[Ref] | None = Field(default=None, max_length=200)
    locale: Annotated[str, StringConstraints(max_length=35)] | None = None
    visibility: Visibility | None = None
    status: ArticleStatus | None = None


class ArticleOut(OutOf[Article]):
    id: int
    slug: str
    kind: ArticleKind
    title: str
    body: str
    body_html: str = Field(description="The body rendered from Markdown and sanitised.")
    internal_notes: str = Field(
        description="Agents only: empty when a customer (portal, customer-bound token) reads it."
    )
    tags: list[str]
    product_ids: list[str]
    locale: str
    visibility: Visibility
    status: ArticleStatus
    author: str
    created_at: datetime
    updated_at: datetime
    version: int


class ArticleVersionOut(OutOf[ArticleVersion]):
    version: int
    title: str
    body: str
    internal_notes: str
    tags: list[str]
    product_ids: list[str]
    locale: str
    visibility: Visibility
    status: ArticleStatus
    author: str
    created_at: datetime


class ArticlePageOut(BaseModel):
    items: list[ArticleOut]
    next_cursor: str | None = None


class KnownIssueIn(Strict):
    key: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    title: Title
    description: Body = ""
    product_ids: list[Ref] = Field(default_factory=list, max_length=200)
    variant_ids: list[Ref] = Field(default_factory=list, max_length=500)
    conditions: list[Annotated[str, StringConstraints(max_length=500)]] = Field(
        default_factory=list,
        max_length=20,
        description="Phrase groups that must all appear in the case; '|' separates options.",
    )
    article_id: ArticleId | None = None
    program_id: Ref | None = Field(default=None, description="A program of the policy in force.")
    active: bool = True


class KnownIssuePatch(Strict):
    version: int | None = None
    title: Title | None = None
    description: Body | None = None
    product_ids: list[Ref] | None = Field(default=None, max_length=200)
    variant_ids: list[Ref] | None = Field(default=None, max_length=500)
    conditions: list[Annotated[str, StringConstraints(max_length=500)]] | None = Field(
        default=None, max_length=20
    )
    article_id: ArticleId | None = None
    program_id: Ref | None = None
    active: bool | None = None


class KnownIssueOut(OutOf[KnownIssue]):
    id: int
    key: str
    title: str
    description: str
    product_ids: list[str]
    variant_ids: list[str]
    conditions: list[str]
    article_id: int | None
    program_id: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    version: int


class SearchHitOut(OutOf[SearchHit]):
    kind: SearchKind
    id: str = Field(description="The article's, macro's or case's id.")
    title: str
    snippet: str
    score: float = Field(
        description="The fused score: the weighted sum of the normalised lexical and semantic "
        "scores (0 to 1)."
    )
    lexical_rank: int | None
    semantic_rank: int | None
    url: str

    @classmethod
    def of(cls, source: SearchHit, **converted: Any) -> Self:
        path = "cases" if source.kind is SearchKind.CASE else "articles"
        url = f"/api/v1/{path}/{source.ref_id}"
        return super().of(source, id=source.ref_id, url=url, **converted)


class SearchOut(BaseModel):
    query: str
    mode: SearchMode = Field(description="The mode used: hybrid falls back to lexical.")
    semantic_available: bool
    items: list[SearchHitOut]


class ProgramOut(OutOf[SuggestedProgram]):
    id: str = Field(description="The program's id in the policy in force.")
    known_issue: str
    remedy: str = Field(description="The remedy the planner offers for it.")
    description: str


class SuggestionsOut(BaseModel):
    case_id: int
    known_issues: list[str]
    programs: list[ProgramOut] = Field(
        description="The programs covering the case's known issues; offer these first."
    )
    items: list[SearchHitOut] = Field(
        description="Known-issue articles first, then the closest articles, macros and cases."
    )


class CaseTriageOut(OutOf[CaseTriage]):
    case_id: int
    intent: str | None
    intent_confidence: float
    intent_source: str
    model_version: int | None
    sentiment: float
    public_risk: bool
    public_risk_confidence: float
    risk_signals: list[str]
    moments: list[str]
    known_issues: list[str]
    language: str
    rules: list[dict[str, Any]]
    triaged_at: datetime


class IntentIn(Strict):
    intent: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class RoutingRuleIn(RoutingRuleSpec):
    position: Position | None = Field(
        default=None, description="Lower runs first; appended if unset."
    )


class RoutingRulePatch(RoutingRuleSpec):
    position: Position | None = None
    version: int = Field(description="The version you read.")


class RoutingRuleOut(RoutingRuleSpec):
    id: int
    position: int
    version: int

    @classmethod
    def of(cls, r: RoutingRule) -> RoutingRuleOut:
        assert r.id is not None
        return cls(id=r.id, position=r.position, version=r.version, **r.spec.model_dump())


class IntentModelOut(OutOf[IntentModelInfo]):
    version: int
    method: str
    labels: list[str]
    examples: int
    metrics: dict[str, Any]
    trained_at: datetime
    trained_by: str
    active: bool


QUERY_MAX = MAX_QUERY_CHARS
