"""Extension point: extra panels on the case page, each fed by its own service.

A panel is a template and a loader. The loader gets the container, the acting agent and the
case screen, and returns the template's context, or None to show nothing. What a panel shows
is read by its feature's service inside the page's one unit of work
(`services/console/case_page.case_screen`), so a loader only arranges what the screen holds.
Features that land later (knowledge suggestions, SLA clocks, escalation, merge and split,
commitments) add their read to the screen and one entry to `CASE_PANELS`; the case page
renders whatever is registered and nothing pretends to exist before it does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from markupsafe import Markup

from caredesk.bootstrap import Container
from caredesk.domain.agents import Actor
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
    from caredesk.services.knowledge import knowledge

    found = screen.knowledge
    if found is None:
        return _refused(screen, "knowledge")
    articles = found.articles
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
        for h in found.hits
        if h.kind is not SearchKind.CASE and h.ref_id in articles
    ]
    agent = screen.agents.get(actor.agent_id) if actor.agent_id is not None else None
    for item in items:
        if item["article"].kind is ArticleKind.MACRO:
            # A macro goes in with this case's names and numbers already filled in; one that
            # cannot be filled offers no insert and says why.
            filled = fill_for_case(screen, agent, item["article"]) if agent else None
            item["insert"] = filled.body[:INSERT_CHARS] if filled else ""
            item["problem"] = filled.problem if filled else None
    cases = [h for h in found.hits if h.kind is SearchKind.CASE]
    return {"items": items, "similar_cases": cases, "known": found.known_issues}


def _sla(container: Container, actor: Actor, screen: CaseScreen) -> dict[str, Any] | None:
    """The case's SLA clocks as due times, read at this moment."""
    if screen.sla is None:
        return _refused(screen, "sla")
    if not screen.sla.clocks:
        return None
    return {"sla": screen.sla}


def _handoff(container: Container, actor: Actor, screen: CaseScreen) -> dict[str, Any] | None:
    """Escalation with the desk's drafted handoff summary, and merge and split."""
    escalation = screen.escalation
    if escalation is None:
        return _refused(screen, "escalation")
    return {
        "draft": escalation.draft,
        "handoffs": escalation.handoffs,
        "links": escalation.links,
        "leads": sorted(
            (a for a in screen.agents.values() if a.active and a.role.value in ("lead", "admin")),
            key=lambda a: a.name,
        ),
        "teams": sorted(screen.teams.values(), key=lambda t: t.name),
        "splittable": [m for m in screen.messages if m.kind.value != "note"],
    }


def _refused(screen: CaseScreen, part: str) -> dict[str, Any] | None:
    """A panel whose feature refused its part: one refusal must not take the page down."""
    reason = screen.refused.get(part)
    if reason is None:
        return None
    log.warning("case panel refused", panel=part, error=reason)
    return {"panel_error": reason}


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
        data = panel.load(container, actor, screen)
        if data is None:
            continue
        html = TEMPLATES.get_template(panel.template).render(**context, **data, screen=screen)
        # The environment autoescapes, so the rendered text is already safe HTML.
        safe = Markup(html)  # noqa: S704
        rendered.append(RenderedPanel(panel.name, panel.title, panel.column, safe))
    return rendered
