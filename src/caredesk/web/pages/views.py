"""View models for the console: the case timeline and readable audit lines."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from caredesk.domain.agents import Agent
from caredesk.domain.audit import AuditEvent
from caredesk.domain.cases import Attachment, MessageKind
from caredesk.domain.grants import Grant
from caredesk.domain.policy.planner import Offer
from caredesk.services.console.console import CaseScreen

# Messages and grants appear as their own entries; their audit events would repeat them.
_SHOWN_ELSEWHERE = ("message.", "grant.executed")


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    kind: str  # inbound, outbound, note, event, grant
    at: datetime
    who: str
    body: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    grant: Grant | None = None
    anchor: str = ""


def actor_name(ref: str, agents: dict[int, Agent]) -> str:
    kind, _, ident = ref.partition(":")
    if kind == "agent" and ident.isdigit():
        agent = agents.get(int(ident))
        return agent.name if agent else f"agent {ident}"
    if kind == "token":
        return f"API token {ident}"
    return "caredesk"


def _value(key: str, value: Any, screen: CaseScreen) -> str:
    if value is None or value == []:
        return "none"
    if key == "assignee_id" and isinstance(value, int):
        agent = screen.agents.get(value)
        return agent.name if agent else f"agent {value}"
    if key == "team_id" and isinstance(value, int):
        team = screen.teams.get(value)
        return team.name if team else f"team {value}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


_LABELS = {
    "case.created": "opened the case",
    "case.assigned": "changed the assignment",
    "case.updated": "edited the case",
    "case.status_changed": "changed the status",
    "order.changed": "changed the order",
    "approval.requested": "asked for approval",
    "approval.approved": "approved a grant",
    "approval.denied": "denied a grant",
    "grant.reversed": "reversed a grant",
}


def describe(event: AuditEvent, screen: CaseScreen) -> str:
    label = _LABELS.get(event.action, event.action.replace(".", " ").replace("_", " "))
    before, after = event.before or {}, event.after or {}
    if event.action == "case.created":
        return label
    changes = [
        f"{key.replace('_id', '').replace('_', ' ')} {_value(key, before.get(key), screen)} → "
        f"{_value(key, value, screen)}"
        for key, value in after.items()
        if key in before
    ]
    if event.action == "approval.requested" and after.get("approver_role"):
        changes = [f"from a {after['approver_role']}: " + "; ".join(after.get("reasons", []))]
    if event.action in ("approval.approved", "approval.denied") and after.get("note"):
        changes = [f"note: {after['note']}"]
    return f"{label}: {'; '.join(changes)}" if changes else label


def timeline(screen: CaseScreen) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    for message in screen.messages:
        if message.kind is MessageKind.INBOUND:
            who = screen.customer.name
        elif message.author_agent_id is not None:
            agent = screen.agents.get(message.author_agent_id)
            who = agent.name if agent else f"agent {message.author_agent_id}"
        else:
            who = "caredesk"
        entries.append(
            TimelineEntry(
                message.kind.value,
                message.created_at,
                who,
                message.body,
                list(message.attachments),
                anchor=f"m{message.id}",
            )
        )
    for event in screen.events:
        if event.action.startswith(_SHOWN_ELSEWHERE):
            continue
        entries.append(
            TimelineEntry(
                "event",
                event.at,
                actor_name(event.actor, screen.agents),
                describe(event, screen),
                anchor=f"e{event.id}",
            )
        )
    for grant in screen.grants:
        entries.append(
            TimelineEntry(
                "grant",
                grant.executed_at or grant.created_at,
                actor_name(grant.actor, screen.agents),
                grant.summary,
                grant=grant,
                anchor=f"g{grant.id}",
            )
        )
    # Stable: at equal times, messages keep their order before the events they caused.
    order = {"inbound": 0, "outbound": 1, "note": 1, "grant": 2, "event": 3}
    return sorted(entries, key=lambda e: (e.at, order[e.kind]))


@dataclass(frozen=True, slots=True)
class OfferCard:
    """One offer as the panel shows it, with the key that makes its button idempotent."""

    offer: Offer
    rank: int
    idempotency_key: str

    @property
    def remedy_ids_value(self) -> str:
        return ",".join(self.offer.remedy_ids)


def offer_cards(screen: CaseScreen) -> list[OfferCard]:
    if screen.plan is None:
        return []
    # A fresh key per render: two clicks on this page are one grant; a reload is a new page.
    return [
        OfferCard(offer, rank, f"console-{uuid.uuid4().hex}")
        for rank, offer in enumerate(screen.plan.ranking.offers, start=1)
    ]
