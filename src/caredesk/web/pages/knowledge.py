"""Knowledge in the console: reading an article, the editor for articles and macros with a
preview, and the routing rules that triage applies to every new case."""

from __future__ import annotations

from typing import Annotated

import yaml
from fastapi import Form, Path, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from caredesk.domain.agents import Permission
from caredesk.domain.errors import DomainError, ErrorCode, ValidationFailed
from caredesk.domain.knowledge import Article, ArticleKind, ArticleStatus, Visibility
from caredesk.domain.triage import RoutingRuleSpec
from caredesk.services.console import pages
from caredesk.services.knowledge import knowledge, triage
from caredesk.services.knowledge.ports import ArticleFilter
from caredesk.web.pages.common import PageVisit, ReadPage, WritePage, page_router, redirect
from caredesk.web.pages.forms import ArticleForm, YamlText

router = page_router()
ArticleId = Annotated[int, Path(ge=1, le=2**63 - 1)]
RuleId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ARTICLES_SHOWN = 200
MAX_ARTICLE_BODY = 200_000
RULE_EXAMPLE = """name: Angry gold customers go to Tier 2
when:
  tiers: [gold]
  sentiment_at_most: -0.4
then:
  team: Tier 2
  raise_priority_to: high
  tags: [at-risk]
stop: false
"""


# --- reading -----------------------------------------------------------------------------------


@router.get("/knowledge/{article_id}")
def show_article(article_id: ArticleId, visit: ReadPage) -> HTMLResponse:
    article = visit.read(knowledge.get_article, str(article_id))
    internal_html = knowledge.internal_html(visit.container.formats, article)
    return visit.render("article.html", article=article, internal_html=internal_html)


# --- the editor --------------------------------------------------------------------------------


def _article_form(article: Article | None) -> dict[str, str]:
    if article is None:
        return {
            "title": "",
            "body": "",
            "internal_notes": "",
            "kind": ArticleKind.ARTICLE.value,
            "status": ArticleStatus.DRAFT.value,
            "visibility": Visibility.INTERNAL.value,
            "tags": "",
            "version": "",
        }
    return {
        "title": article.title,
        "body": article.body,
        "internal_notes": article.internal_notes,
        "kind": article.kind.value,
        "status": article.status.value,
        "visibility": article.visibility.value,
        "tags": " ".join(article.tags),
        "version": str(article.version),
    }


def _editor(
    visit: PageVisit,
    *,
    article_id: int | None,
    form: dict[str, str],
    problem: DomainError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    kind = ArticleKind(form["kind"]) if form["kind"] in list(ArticleKind) else None
    listed, _ = visit.read(knowledge.list_articles, ArticleFilter(kind=kind), ARTICLES_SHOWN, None)
    formats = visit.container.formats
    return visit.render(
        "admin_knowledge.html",
        tab="knowledge",
        articles=listed,
        article_id=article_id,
        form=form,
        preview=formats.render_markdown(form["body"]) if form["body"] else "",
        form_error=problem.message if problem else None,
        # A problem with one field (a macro's template, the slug) is shown beside that field.
        error_field=problem.details.get("field") if problem else None,
        error_line=problem.details.get("line") if problem else None,
        can_publish=visit.who.can(Permission.PUBLISH),
        kinds=[k.value for k in ArticleKind],
        article_statuses=[s.value for s in ArticleStatus],
        visibilities=[v.value for v in Visibility],
        status_code=status_code,
        push_url=f"/admin/knowledge/{article_id}" if article_id else "/admin/knowledge",
    )


@router.get("/admin/knowledge")
def knowledge_home(
    visit: ReadPage, kind: Annotated[str, Query(max_length=20)] = "article"
) -> HTMLResponse:
    visit.who.actor.require(Permission.WRITE_CASES)
    form = _article_form(None)
    form["kind"] = kind if kind in list(ArticleKind) else ArticleKind.ARTICLE.value
    return _editor(visit, article_id=None, form=form)


@router.get("/admin/knowledge/{article_id}")
def edit_article(article_id: ArticleId, visit: ReadPage) -> HTMLResponse:
    visit.who.actor.require(Permission.WRITE_CASES)
    article = visit.read(knowledge.get_article, str(article_id))
    return _editor(visit, article_id=article_id, form=_article_form(article))


@router.post("/admin/knowledge/preview")
def preview(
    visit: WritePage, body: Annotated[str, Form(max_length=MAX_ARTICLE_BODY)] = ""
) -> HTMLResponse:
    """The body as readers will see it: the same Markdown rendering and sanitising as on save."""
    visit.who.actor.require(Permission.WRITE_CASES)
    html = (
        visit.container.formats.render_markdown(body)
        if body.strip()
        else '<p class="muted">Nothing to preview.</p>'
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


def _refused(
    visit: PageVisit, article_id: int | None, fields: dict[str, str], exc: DomainError
) -> HTMLResponse:
    """The editor again, with what was typed and why it was refused."""
    status = {ErrorCode.VERSION_CONFLICT: 409, ErrorCode.FORBIDDEN: 403}.get(exc.code, 422)
    return _editor(visit, article_id=article_id, form=fields, problem=exc, status_code=status)


@router.post("/admin/knowledge")
def create_article(visit: WritePage, form: Annotated[ArticleForm, Form()]) -> Response:
    fields = form.fields()
    try:
        article = visit.run(knowledge.create_article, **pages.article_changes(fields))
    except DomainError as exc:
        return _refused(visit, None, fields, exc)
    visit.container.knowledge_changed()
    return redirect(f"/admin/knowledge/{article.id}", "saved")


@router.post("/admin/knowledge/{article_id}")
def update_article(
    article_id: ArticleId, visit: WritePage, form: Annotated[ArticleForm, Form()]
) -> Response:
    fields = form.fields()
    try:
        visit.run(
            knowledge.update_article,
            article_id,
            # The version is checked first: a form without it says so, whatever else it holds.
            expected_version=pages.article_version(fields["version"]),
            changes=pages.article_changes(fields),
        )
    except DomainError as exc:
        return _refused(visit, article_id, fields, exc)
    visit.container.knowledge_changed()
    return redirect(f"/admin/knowledge/{article_id}", "saved")


# --- routing rules -----------------------------------------------------------------------------


def _as_yaml(spec: RoutingRuleSpec) -> str:
    return yaml.safe_dump(
        spec.model_dump(mode="json", exclude_defaults=True), sort_keys=False, allow_unicode=True
    )


def _rules_page(
    visit: PageVisit,
    *,
    text: str = RULE_EXAMPLE,
    problems: list[str] | None = None,
) -> HTMLResponse:
    """The rules, or after a refusal the rule sent back with what is wrong in it."""
    visit.who.actor.require(Permission.MANAGE_POLICY)
    rules = visit.read(triage.list_rules)
    return visit.admin_tab(
        "routing",
        rules=[(r, _as_yaml(r.spec)) for r in rules],
        text=text,
        problems=problems or [],
        status_code=422 if problems else 200,
    )


@router.get("/admin/routing")
def routing(visit: ReadPage) -> HTMLResponse:
    return _rules_page(visit)


def _spec(text: str) -> RoutingRuleSpec:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationFailed(f"the rule is not valid YAML: {exc}") from exc
    try:
        return RoutingRuleSpec.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'rule'}: {e['msg']}" for e in exc.errors()
        ]
        raise ValidationFailed("; ".join(problems), details={"problems": problems}) from exc


@router.post("/admin/routing")
def create_rule(
    visit: WritePage,
    text: YamlText = "",
    position: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    try:
        visit.run(triage.create_rule, _spec(text), int(position) if position.isdigit() else None)
    except ValidationFailed as exc:
        problems = exc.details.get("problems") or [exc.message]
        return _rules_page(visit, text=text, problems=list(problems))
    return redirect("/admin/routing", "created")


@router.post("/admin/routing/{rule_id}/delete")
def delete_rule(rule_id: RuleId, visit: WritePage) -> Response:
    visit.run(triage.delete_rule, rule_id)
    return redirect("/admin/routing", "rule_deleted")
