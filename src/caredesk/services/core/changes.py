"""What a command records of a change that only the audit trail (and the webhooks matching
its line) hear of: grants executed, approvals, tokens, policy, rules, calendars…"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from caredesk.domain.agents import Actor
from caredesk.domain.events import Changed
from caredesk.services.core.ports import Transaction


def publish_change(
    uow: Transaction,
    actor: Actor,
    at: datetime,
    action: str,
    entity_type: str,
    entity_id: object,
    *,
    case_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Record the change in this unit of work; its audit line is written at commit."""
    change = Changed(
        actor=actor,
        at=at,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        case_id=case_id,
        before=before,
        after=after,
    )
    uow.publish(change)
