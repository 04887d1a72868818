"""Knowledge base over HTTP: articles and macros with versions, known issues, search,
case suggestions and triage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response, status

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
    IdPath,
    update_with,
    versioned,
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
from caredesk.web.deps import ActorDep, ContainerDep, NowDep
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
def create_article(
    body: ArticleIn, actor: ActorDep, container: ContainerDep, now: NowDep, response: Response
) -> ArticleOut:
    """Create an article or a macro. A macro's body is a sandboxed template, checked here
    (`422 template_invalid` with the line); a published macro or a published public article
    needs the publish permission (editor, admin)."""
    article = knowledge.create_article(
        container.uow(), actor, now, **body.model_dump(exclude={"slug"}), slug=body.slug or None
    )
    container.knowledge_changed()
    response.headers["Location"] = f"/api/v1/articles/{article.id}"
    return versioned(response, article, ArticleOut.of)


@router.get("/articles", tags=["knowledge"])
def list_articles(
    actor: ActorDep,
    container: ContainerDep,
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
    items, last = knowledge.list_articles(
        container.uow.read_only(), actor, filters, limit, _cursor(cursor)
    )
    return ArticlePageOut(
        items=[ArticleOut.of(a) for a in items], next_cursor=str(last) if last else None
    )


@router.get("/articles/{ref}", tags=["knowledge"])
def get_article(
    ref: Annotated[str, "An article id or slug"],
    actor: ActorDep,
    container: ContainerDep,
    response: Response,
) -> ArticleOut:
    article = knowledge.get_article(container.uow.read_only(), actor, ref)
    return versioned(response, article, ArticleOut.of)


@router.patch("/articles/{article_id}", tags=["knowledge"])
def update_article(
    article_id: IdPath,
    body: ArticlePatch,
    actor: ActorDep,
    container: ContainerDep,
    now: NowDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> ArticleOut:
    """A new version. A macro's changed body is checked (`422 template_invalid`); making an
    article or macro live, or changing one that is, needs the publish permission."""
    article = update_with(
        knowledge.update_article, article_id, body, actor, container, now, if_match
    )
    container.knowledge_changed()
    return versioned(response, article, ArticleOut.of)


@router.delete("/articles/{article_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["knowledge"])
def delete_article(
    article_id: IdPath, actor: ActorDep, container: ContainerDep, now: NowDep
) -> None:
    knowledge.delete_article(container.uow(), actor, now, article_id)


@router.get("/articles/{article_id}/versions", tags=["knowledge"])
def article_versions(
    article_id: IdPath, actor: ActorDep, container: ContainerDep
) -> list[ArticleVersionOut]:
    versions = knowledge.article_history(container.uow.read_only(), actor, article_id)
    return [ArticleVersionOut.of(v) for v in versions]


@router.post("/known-issues", status_code=status.HTTP_201_CREATED, tags=["knowledge"])
def create_known_issue(
    body: KnownIssueIn, actor: ActorDep, container: ContainerDep, now: NowDep
) -> KnownIssueOut:
    fields = body.model_dump(exclude={"key", "title"})
    issue = knowledge.create_known_issue(
        container.uow(), actor, now, key=body.key, title=body.title, **fields
    )
    return KnownIssueOut.of(issue)


@router.get("/known-issues", tags=["knowledge"])
def list_known_issues(actor: ActorDep, container: ContainerDep) -> list[KnownIssueOut]:
    return [KnownIssueOut.of(i) for i in knowledge.list_known_issues(container.uow(), actor)]


@router.get("/known-issues/{key}", tags=["knowledge"])
def get_known_issue(key: str, actor: ActorDep, container: ContainerDep) -> KnownIssueOut:
    return KnownIssueOut.of(knowledge.get_known_issue(container.uow(), actor, key))


@router.patch("/known-issues/{key}", tags=["knowledge"])
def update_known_issue(
    key: str, body: KnownIssuePatch, actor: ActorDep, container: ContainerDep, now: NowDep
) -> KnownIssueOut:
    # The version is the body's alone: a known issue sends no ETag to match.
    issue = update_with(knowledge.update_known_issue, key, body, actor, container, now, None)
    return KnownIssueOut.of(issue)


@router.get("/search", tags=["search"])
def search_knowledge(
    actor: ActorDep,
    container: ContainerDep,
    q: Annotated[str, Query(max_length=QUERY_MAX, description="What to look for.")],
    kind: Annotated[
        list[SearchKind] | None, Query(description="article, macro or case (repeatable).")
    ] = None,
    mode: SearchMode = SearchMode.HYBRID,
    limit: Annotated[int, Query(ge=1, le=search.MAX_LIMIT)] = 10,
) -> SearchOut:
    result = search.search(
        container.uow.read_only(),
        actor,
        q,
        kinds=kind or [],
        limit=limit,
        mode=mode,
        semantic=container.semantic,
    )
    return SearchOut(
        query=q.strip(),
        mode=result.mode,
        semantic_available=result.semantic_available,
        items=[SearchHitOut.of(h) for h in result.hits],
    )


@router.get("/cases/{case_id}/suggestions", tags=["search"])
def case_suggestions(
    case_id: IdPath,
    actor: ActorDep,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> SuggestionsOut:
    found = search.suggest_for_case(
        container.uow.read_only, actor, case_id, semantic=container.semantic, limit=limit
    )
    return SuggestionsOut(
        case_id=case_id,
        known_issues=found.known_issues,
        programs=[ProgramOut.of(p) for p in found.programs],
        items=[SearchHitOut.of(h) for h in found.hits],
    )


@router.get("/cases/{case_id}/triage", tags=["triage"])
def case_triage(case_id: IdPath, actor: ActorDep, container: ContainerDep) -> CaseTriageOut:
    return CaseTriageOut.of(triage.get_case_triage(container.uow.read_only(), actor, case_id))


@router.post("/cases/{case_id}/triage", tags=["triage"])
def retriage_case(
    case_id: IdPath, actor: ActorDep, container: ContainerDep, now: NowDep
) -> CaseTriageOut:
    assert container.triage is not None
    result = triage.triage_case(container.uow(), container.triage, actor, now, case_id)
    return CaseTriageOut.of(result)


@router.put("/cases/{case_id}/intent", tags=["triage"])
def correct_intent(
    case_id: IdPath, body: IntentIn, actor: ActorDep, container: ContainerDep, now: NowDep
) -> CaseTriageOut:
    """Set the case's intent; the correction becomes a label for the next training."""
    return CaseTriageOut.of(
        triage.correct_intent(container.uow(), actor, now, case_id, body.intent)
    )


@router.get("/routing-rules", tags=["triage"])
def list_rules(actor: ActorDep, container: ContainerDep) -> list[RoutingRuleOut]:
    return [RoutingRuleOut.of(r) for r in triage.list_rules(container.uow(), actor)]


@router.post("/routing-rules", status_code=status.HTTP_201_CREATED, tags=["triage"])
def create_rule(
    body: RoutingRuleIn, actor: ActorDep, container: ContainerDep, now: NowDep
) -> RoutingRuleOut:
    spec = RoutingRuleSpec.model_validate(body.model_dump(include=set(SPEC_FIELDS)))
    return RoutingRuleOut.of(triage.create_rule(container.uow(), actor, now, spec, body.position))


@router.put("/routing-rules/{rule_id}", tags=["triage"])
def update_rule(
    rule_id: RuleIdPath,
    body: RoutingRulePatch,
    actor: ActorDep,
    container: ContainerDep,
    now: NowDep,
) -> RoutingRuleOut:
    spec = RoutingRuleSpec.model_validate(body.model_dump(include=set(SPEC_FIELDS)))
    rule = triage.update_rule(
        container.uow(),
        actor,
        now,
        rule_id,
        expected_version=body.version,
        spec=spec,
        position=body.position,
    )
    return RoutingRuleOut.of(rule)


@router.delete("/routing-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["triage"])
def delete_rule(rule_id: RuleIdPath, actor: ActorDep, container: ContainerDep, now: NowDep) -> None:
    triage.delete_rule(container.uow(), actor, now, rule_id)


@router.get("/intent-models", tags=["triage"])
def intent_models(actor: ActorDep, container: ContainerDep) -> list[IntentModelOut]:
    return [IntentModelOut.of(m) for m in triage.list_models(container.uow(), actor)]
