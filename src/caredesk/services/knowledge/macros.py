"""Macros in the composer: the packaged ones and the knowledge base's, filled for one case.

Filling happens here, in the sandbox of `services/core/templates.py`, never in a page: a
macro that cannot be filled is listed with its problem and the page renders as usual.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from caredesk.domain.agents import Agent
from caredesk.domain.knowledge import Article
from caredesk.services.console.console import CaseScreen
from caredesk.services.core.ports import TextFormats
from caredesk.services.core.templates import FilledMacro, TemplateInvalid, fill_macro, fill_macros

log = structlog.get_logger("caredesk.macros")


def macro_values(screen: CaseScreen, agent: Agent) -> dict[str, str]:
    """What each macro variable stands for on this case, for this agent."""
    order_id = screen.case.order_ids[0] if screen.case.order_ids else ""
    order = next((o for o in screen.orders if o.id == order_id), None)
    promised = order.promised_date if order else None
    return {
        "first_name": screen.customer.first_name,
        "customer_name": screen.customer.name,
        "agent_name": agent.name,
        "agent_first_name": agent.name.split(" ")[0],
        "case_id": str(screen.case.id),
        "case_subject": screen.case.subject,
        "order_id": order_id,
        "promised_date": promised.isoformat() if promised else "",
    }


def _skipped(case_id: int | None, macro_id: str, problem: TemplateInvalid) -> None:
    log.warning("macro.unfillable", case_id=case_id, macro=macro_id, problem=problem.message)


def case_macros(
    formats: TextFormats, screen: CaseScreen, agent: Agent, knowledge: Sequence[Article] = ()
) -> list[FilledMacro]:
    """The packaged macros (`macros.yaml`), then the knowledge base's (ids `kb-<id>`), filled
    for this case; one that cannot be filled carries its problem instead of a body."""
    sources = [
        *formats.packaged_macros(),
        *((f"kb-{a.id}", a.title, a.body) for a in knowledge),
    ]
    return fill_macros(
        sources,
        macro_values(screen, agent),
        lambda macro_id, problem: _skipped(screen.case.id, macro_id, problem),
    )


def fill_for_case(screen: CaseScreen, agent: Agent, article: Article) -> FilledMacro:
    """One knowledge-base macro filled for this case (the knowledge panel's insert)."""
    try:
        body = fill_macro(article.body, macro_values(screen, agent))
    except TemplateInvalid as problem:
        _skipped(screen.case.id, f"kb-{article.id}", problem)
        return FilledMacro(f"kb-{article.id}", article.title, "", problem.message)
    return FilledMacro(f"kb-{article.id}", article.title, body)
