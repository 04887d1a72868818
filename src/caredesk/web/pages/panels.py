"""Extension point: extra panels on the case page, each fed by its own service.

A panel is a template and a loader. The loader gets the container, the acting agent and the
case screen, and returns the template's context, or None to show nothing. Features that land
later (knowledge suggestions, SLA clocks, escalation, merge and split, commitments) add one
entry to `CASE_PANELS` beside their service; the case page renders whatever is registered and
nothing pretends to exist before it does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from markupsafe import Markup

from caredesk.bootstrap import Container
from caredesk.domain.agents import Actor
from caredesk.domain.errors import DomainError
from caredesk.services.console.console import CaseScreen
from caredesk.services.knowledge.macros import fill_for_case
from caredesk.web.pages.common import TEMPLATES

log = structlog.get_logger("caredesk.console")

Loader = Callable[[Container, Actor, CaseScreen], dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class CasePanel:
    name: str
    title: str
    template: str
    load: Loader
    column: str = "side"  # "side" beside the customer, "main" under the messages


def _known_issue(container: Container, actor: Actor, screen: CaseScreen) -> dict[str, Any] | None:
    """The company's decision about a known issue on this case: the policy's program."""
    if not screen.known_issues:
        return None
    return {"known_issues": screen.known_issues, "programs": screen.programs}


# How much of an article the composer takes in one click: a whole manual would bury the reply.
INSERT_CHARS = 4000


def _knowledge(container: Container, actor: Actor, screen: CaseScreen) -> dict[str, Any] | None:
    """The knowledge answer: known-issue articles first, then the articles and macros most like
    this case, each insertable into the reply."""
    from caredesk.domain.knowledge import ArticleKind
    from caredesk.domain.search import SearchKind
    from caredesk.services.knowledge import knowledge, search

    assert screen.case.id is not None
    hits, known = search.case_suggestions(
        container.uow.read_only, actor, screen.case.id, semantic=container.semantic
    )
    wanted = [h for h in hits if h.kind in (SearchKind.ARTICLE, SearchKind.MACRO)]
    articles = {
        h.ref_id: knowledge.get_article(container.uow.read_only(), actor, h.ref_id)
        for h in wanted
        if h.ref_id.isdigit()
    }
    items: list[dict[str, Any]] = [
        {
            "hit": h,
            "article": articles[h.ref_id],
            "internal_html": knowledge.internal_html(container.formats, articles[h.ref_id]),
            "insert": container.formats.plain_text(articles[h.ref_id].body)[:INSERT_CHARS]
            if h.kind is SearchKind.ARTICLE
            else articles[h.ref_id].body[:INSERT_CHARS],
            # Pinned hits are the articles of the case's known issues (the search puts them first).
            "pinned": h.score >= 1.0 and h.lexical_rank is None and h.semantic_rank is None,
        }
        for h in wanted
        if h.ref_id in articles
    ]
    agent = screen.agents.get(actor.agent_id) if actor.agent_id is not None else None
    for item in items:
        if item["article"].kind is ArticleKind.MACRO:
            # A macro goes in with this case's names and numbers already filled in; one that
            # cannot be filled offers no insert and says why.
            filled = fill_for_case(screen, agent, item["article"]) if agent else None
            item["insert"] = filled.body[:INSERT_CHARS] if filled else ""
            item["problem"] = filled.problem if filled else None
    cases = [h for h in hits if h.kind is SearchKind.CASE]
    return {"items": items, "similar_cases": cases, "known": known}


def _sla(container: Container, actor: Actor, screen: CaseScreen) -> dict[str, Any] | None:
    """The case's SLA clocks as due times, read at this moment."""
    from caredesk.services.sla import sla

    assert screen.case.id is not None
    reading = sla.case_sla(container.uow.read_only(), actor, screen.case.id, container.clock.now())
    if not reading.clocks:
        return None
    return {"sla": reading}


def _handoff(container: Container, actor: Actor, screen: CaseScreen) -> dict[str, Any] | None:
    """Escalation with the desk's drafted handoff summary, and merge and split."""
    from caredesk.services.lifecycle import lifecycle

    case_id = screen.case.id
    assert case_id is not None
    draft = lifecycle.draft_handoff(container.uow.read_only(), actor, case_id)
    return {
        "draft": draft.summary,
        "handoffs": lifecycle.case_handoffs(container.uow.read_only(), actor, case_id),
        "links": lifecycle.case_links(container.uow.read_only(), actor, case_id),
        "leads": sorted(
            (a for a in screen.agents.values() if a.active and a.role.value in ("lead", "admin")),
            key=lambda a: a.name,
        ),
        "teams": sorted(screen.teams.values(), key=lambda t: t.name),
        "splittable": [m for m in screen.messages if m.kind.value != "note"],
    }


CASE_PANELS: list[CasePanel] = [
    CasePanel("sla", "SLA", "panels/sla.html", _sla),
    CasePanel("known-issue", "Known issue", "panels/known_issue.html", _known_issue),
    CasePanel("knowledge", "Knowledge", "panels/knowledge.html", _knowledge),
    CasePanel("handoff", "Escalate, merge, split", "panels/handoff.html", _handoff, "main"),
]


@dataclass(frozen=True, slots=True)
class RenderedPanel:
    name: str
    title: str
    column: str
    html: Markup


def render_panels(
    container: Container, actor: Actor, screen: CaseScreen, context: dict[str, Any]
) -> list[RenderedPanel]:
    rendered = []
    for panel in CASE_PANELS:
        try:
            data = panel.load(container, actor, screen)
        except DomainError as exc:
            # One feature's refusal must not take the whole case page down with it.
            log.warning("case panel refused", panel=panel.name, error=exc.message)
            data = {"panel_error": exc.message}
        if data is None:
            continue
        html = TEMPLATES.get_template(panel.template).render(**context, **data, screen=screen)
        # The environment autoescapes, so the rendered text is already safe HTML.
        safe = Markup(html)  # noqa: S704
        rendered.append(RenderedPanel(panel.name, panel.title, panel.column, safe))
    return rendered
