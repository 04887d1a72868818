"""The audit trail: every event's lines, written in the transaction of the change they record."""

from __future__ import annotations

from caredesk.domain.events import Event
from caredesk.services.channels import webhook_events
from caredesk.services.core.unit import AuditUnit


def record_event(uow: AuditUnit, event: Event) -> None:
    """Handler for every event: append its audit lines and queue the webhooks they match."""
    for entry in event.audit_entries():
        uow.audit.append(entry)
        # Subscribers hear of the change in its own transaction: only if, and when, it commits.
        webhook_events.emit(uow, entry)
