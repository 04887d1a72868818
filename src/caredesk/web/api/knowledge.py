"""Knowledge base over HTTP: articles and macros with versions, known issues, search,
case suggestions and triage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, status

from caredesk.domain.errors import ValidationFailed
from caredesk.domain.knowledge import ArticleKind, ArticleStatus, Visibility
from caredesk.domain.search import SearchKind, SearchMode
from caredesk.domain.triage import RoutingRuleSpec
from caredesk.services.knowledge import knowledge, search, triage
from caredesk.services.knowledge.ports import ArticleFilter
from caredesk.web.api.common import (
    BIG_ID_MAX,
    PAGE_LIMIT_DEFAULT,
    PAGE_LIMIT_MAX,
    SMALL_ID_MAX,
    Call,
    IdPath,
)
from caredesk.web.api.schemas.knowledge import (
    QUERY_MAX,
    ArticleIn,
    ArticleOut,
    ArticlePageOut,
    ArticlePatch,
    ArticleVersionOut,
    CaseTriageOut,
    IntentIn,
    IntentModelOut,
    KnownIssueIn,
    KnownIssueOut,
    KnownIssuePatch,
    ProgramOut,
    RoutingRuleIn,
    RoutingRuleOut,
    RoutingRulePatch,
    SearchHitOut,
    SearchOut,
    SuggestionsOut,
)
from caredesk.web.idempotency import IdempotentRoute

router = APIRouter(route_class=IdempotentRoute)
# Routing rules have 32-bit ids; an id no column can hold is a 422, not a database error.
RuleIdPath = Annotated[int, Path(ge=1, le=SMALL_ID_MAX)]
SPEC_FIELDS = ("name", "when", "then", "stop", "enabled")


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 19 or int(value) > BIG_ID_MAX:
        raise ValidationFailed("cursor is not one this API issued", details={"field": "cursor"})
    return int(value)


@router.post("/articles", status_code=status.HTTP_201_CREATED, tags=["knowledge"])
def create_article(body: ArticleIn, call: Call) -> ArticleOut:
    """Create an article or a macro. A macro's body is a sandboxed template, checked here
    (`422 template_invalid` with the line); a published macro or a published public article
    needs the publish permission (editor, admin)."""
    article = call.run(
        knowledge.create_article, **body.model_dump(exclude={"slug"}), slug=body.slug or None
    )
    call.container.knowledge_changed()
    call.response.headers["Location"] = f"/api/v1/articles/{article.id}"
    return call.versioned(article, ArticleOut.of)


@router.get("/articles", tags=["knowledge"])
def list_articles(
    call: Call,
    kind: ArticleKind | None = None,
    status_: Annotated[ArticleStatus | None, Query(alias="status")] = None,
    visibility: Visibility | None = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    product_id: Annotated[str | None, Query(max_length=64)] = None,
    locale: Annotated[str | None, Query(max_length=35)] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT,
    cursor: str | None = None,
) -> ArticlePageOut:
    filters = ArticleFilter(kind, status_, visibility, tag, product_id, locale)
    items, last = call.read(knowledge.list_articles, filters, limit, _cursor(cursor))
    return ArticlePageOut(
        items=[ArticleOut.of(a) for a in items], next_cursor=str(last) if last else None
    )


@router.get("/articles/{ref}", tags=["knowledge"])
def get_article(ref: Annotated[str, "An article id or slug"], call: Call) -> ArticleOut:
    article = call.read(knowledge.get_article, ref)
    return call.versioned(article, ArticleOut.of)


@router.patch("/articles/{article_id}", tags=["knowledge"])
def update_article(
    article_id: IdPath,
    body: ArticlePatch,
    call: Call,
    if_match: Annotated[str | None, Header()] = None,
) -> ArticleOut:
    """A new version. A macro's changed body is checked (`422 template_invalid`); making an
    article or macro live, or changing one that is, needs the publish permission."""
    article = call.update(knowledge.update_article, article_id, body, if_match)
    call.container.knowledge_changed()
    return call.versioned(article, ArticleOut.of)


@router.delete("/articles/{article_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["knowledge"])
def delete_article(article_id: IdPath, call: Call) -> None:
    call.run(knowledge.delete_article, article_id)


@router.get("/articles/{article_id}/versions", tags=["knowledge"])
def article_versions(article_id: IdPath, call: Call) -> list[ArticleVersionOut]:
    versions = call.read(knowledge.article_history, article_id)
    return [ArticleVersionOut.of(v) for v in versions]


@router.post("/known-issues", status_code=status.HTTP_201_CREATED, tags=["knowledge"])
def create_known_issue(body: KnownIssueIn, call: Call) -> KnownIssueOut:
    fields = body.model_dump(exclude={"key", "title"})
    # The command takes the body's other fields by name: given its unit, caller and time first.
    issue = knowledge.create_known_issue(
        call.container.uow(), call.actor, call.now(), key=body.key, title=body.title, **fields
    )
    return KnownIssueOut.of(issue)


@router.get("/known-issues", tags=["knowledge"])
def list_known_issues(call: Call) -> list[KnownIssueOut]:
    return [KnownIssueOut.of(i) for i in call.read(knowledge.list_known_issues)]


@router.get("/known-issues/{key}", tags=["knowledge"])
def get_known_issue(key: str, call: Call) -> KnownIssueOut:
    return KnownIssueOut.of(call.read(knowledge.get_known_issue, key))


@router.patch("/known-issues/{key}", tags=["knowledge"])
def update_known_issue(key: str, body: KnownIssuePatch, call: Call) -> KnownIssueOut:
    # The version is the body's alone: a known issue sends no ETag to match.
    issue = call.update(knowledge.update_known_issue, key, body, None)
    return KnownIssueOut.of(issue)


@router.get("/search", tags=["search"])
def search_knowledge(
    call: Call,
    q: Annotated[str, Query(max_length=QUERY_MAX, description="What to look for.")],
    kind: Annotated[
        list[SearchKind] | None, Query(description="article, macro or case (repeatable).")
    ] = None,
    mode: SearchMode = SearchMode.HYBRID,
    limit: Annotated[int, Query(ge=1, le=search.MAX_LIMIT)] = 10,
) -> SearchOut:
    result = call.read(
        search.search,
        q,
        kinds=kind or [],
        limit=limit,
        mode=mode,
        semantic=call.container.semantic,
    )
    return SearchOut(
        query=q.strip(),
        mode=result.mode,
        semantic_available=result.semantic_available,
        items=[SearchHitOut.of(h) for h in result.hits],
    )


@router.get("/cases/{case_id}/suggestions", tags=["search"])
def case_suggestions(
    case_id: IdPath, call: Call, limit: Annotated[int, Query(ge=1, le=20)] = 5
) -> SuggestionsOut:
    found = call.read(
        search.suggest_for_case, case_id, semantic=call.container.semantic, limit=limit
    )
    return SuggestionsOut(
        case_id=case_id,
        known_issues=found.known_issues,
        programs=[ProgramOut.of(p) for p in found.programs],
        items=[SearchHitOut.of(h) for h in found.hits],
    )


@router.get("/cases/{case_id}/triage", tags=["triage"])
def case_triage(case_id: IdPath, call: Call) -> CaseTriageOut:
    return CaseTriageOut.of(call.read(triage.get_case_triage, case_id))


@router.post("/cases/{case_id}/triage", tags=["triage"])
def retriage_case(case_id: IdPath, call: Call) -> CaseTriageOut:
    assert call.container.triage is not None
    result = triage.triage_case(
        call.container.uow(), call.container.triage, call.actor, call.now(), case_id
    )
    return CaseTriageOut.of(result)


@router.put("/cases/{case_id}/intent", tags=["triage"])
def correct_intent(case_id: IdPath, body: IntentIn, call: Call) -> CaseTriageOut:
    """Set the case's intent; the correction becomes a label for the next training."""
    return CaseTriageOut.of(call.run(triage.correct_intent, case_id, body.intent))


@router.get("/routing-rules", tags=["triage"])
def list_rules(call: Call) -> list[RoutingRuleOut]:
    return [RoutingRuleOut.of(r) for r in call.read(triage.list_rules)]


@router.post("/routing-rules", status_code=status.HTTP_201_CREATED, tags=["triage"])
def create_rule(body: RoutingRuleIn, call: Call) -> RoutingRuleOut:
    spec = RoutingRuleSpec.model_validate(body.model_dump(include=set(SPEC_FIELDS)))
    return RoutingRuleOut.of(call.run(triage.create_rule, spec, body.position))


@router.put("/routing-rules/{rule_id}", tags=["triage"])
def update_rule(rule_id: RuleIdPath, body: RoutingRulePatch, call: Call) -> RoutingRuleOut:
    spec = RoutingRuleSpec.model_validate(body.model_dump(include=set(SPEC_FIELDS)))
    rule = call.run(
        triage.update_rule,
        rule_id,
        expected_version=body.version,
        spec=spec,
        position=body.position,
    )
    return RoutingRuleOut.of(rule)


@router.delete("/routing-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["triage"])
def delete_rule(rule_id: RuleIdPath, call: Call) -> None:
    call.run(triage.delete_rule, rule_id)


@router.get("/intent-models", tags=["triage"])
def intent_models(call: Call) -> list[IntentModelOut]:
    return [IntentModelOut.of(m) for m in call.read(triage.list_models)]
