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
from caredesk.services.console import CaseScreen
from caredesk.web.pages.common import TEMPLATES

log = structlog.get_logger("caredesk.console")

Loader = Callable[[Container, Actor, CaseScreen], dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class CasePanel:
    name: str
    title: str
    template: str
    load: Loader
    column: str = "side"  # "side" beside the customer, "main" under the conversation


def _known_issue(container: Container, actor: Actor, screen: CaseScreen) -> dict[str, Any] | None:
    """The company's decision about a known issue on this case: the policy's program."""
    if not screen.known_issues:
        return None
    return {"known_issues": screen.known_issues, "programs": screen.programs}


CASE_PANELS: list[CasePanel] = [
    CasePanel("known-issue", "Known issue", "panels/known_issue.html", _known_issue),
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
