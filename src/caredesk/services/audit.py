"""Recording audit events inside the unit of work that makes the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from caredesk.domain.agents import Actor
from caredesk.domain.audit import AuditEvent, changed_fields
from caredesk.services import webhook_events
from caredesk.services.ports import UnitOfWork


def record(
    uow: UnitOfWork,
    actor: Actor,
    now: datetime,
    action: str,
    entity_type: str,
    entity_id: object,
    *,
    case_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    if before is not None and after is not None:
        before, after = changed_fields(before, after)
    event = AuditEvent(
        at=now,
        actor=actor.ref,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        case_id=case_id,
        before=before,
        after=after,
    )
    uow.audit.append(event)
    # Subscribers hear of the change in its own transaction: only if, and when, it commits.
    webhook_events.emit(uow, event)
