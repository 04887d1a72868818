"""Escalation: the handoff a receiving team or lead reads instead of asking the customer again."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from caredesk.domain.errors import ValidationFailed

MAX_SUMMARY = 5000
MAX_QUESTION = 1000


@dataclass(frozen=True, slots=True)
class HandoffFacts:
    """What the desk already knows, so the receiving side never asks the customer again."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    tried: list[str] = field(default_factory=list)
    grants: list[str] = field(default_factory=list)
    attachments: int = 0
    customer_contacts: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "orders": list(self.orders),
            "products": list(self.products),
            "tried": list(self.tried),
            "grants": list(self.grants),
            "attachments": self.attachments,
            "customer_contacts": list(self.customer_contacts),
        }


def draft_handoff_summary(subject: str, facts: HandoffFacts, open_question: str) -> str:
    """A summary the agent can accept as is: the story in the order a reader needs it."""
    lines = [f"Case: {subject}"]
    if facts.orders:
        described = ", ".join(f"{o['id']} ({o['status']})" for o in facts.orders)
        lines.append(f"Orders: {described}")
    if facts.products:
        lines.append(f"Products: {', '.join(facts.products)}")
    if facts.attachments:
        lines.append(f"Customer already sent {facts.attachments} attachment(s).")
    lines.append("Tried so far: " + ("; ".join(facts.tried) if facts.tried else "nothing yet"))
    if facts.grants:
        lines.append(f"Granted: {'; '.join(facts.grants)}")
    if open_question.strip():
        lines.append(f"Open question: {open_question.strip()}")
    return "\n".join(lines)


def check_handoff(summary: str, open_question: str) -> tuple[str, str]:
    summary, open_question = summary.strip(), open_question.strip()
    if not summary:
        raise ValidationFailed("a handoff needs a summary", details={"field": "summary"})
    if len(summary) > MAX_SUMMARY:
        raise ValidationFailed(
            f"summary is longer than {MAX_SUMMARY} characters", details={"field": "summary"}
        )
    if len(open_question) > MAX_QUESTION:
        raise ValidationFailed(
            f"open question is longer than {MAX_QUESTION} characters",
            details={"field": "open_question"},
        )
    return summary, open_question


@dataclass(slots=True)
class Handoff:
    """An escalation: who it went to, the summary they read, the facts and the open question."""

    id: int | None
    case_id: int
    summary: str
    open_question: str
    facts: dict[str, Any]
    drafted: bool
    created_by: str
    created_at: datetime
    from_agent_id: int | None = None
    to_team_id: int | None = None
    to_agent_id: int | None = None
