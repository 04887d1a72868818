"""Domain events: what happened, recorded by the code that made it happen.

A command records events as it changes things (a case records its own, see domain/cases.py);
the unit of work hands each one, before it commits, to the handlers wired in bootstrap:
the audit trail (and the webhooks it feeds), SLA clocks, triage, the search index and
outbound mail. A follow-on effect therefore happens exactly when, and only if, the change
commits, whichever door the change came in by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from caredesk.domain.agents import Actor
from caredesk.domain.audit import AuditEvent, changed_fields


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    actor: Actor
    at: datetime

    def audit_entries(self) -> list[AuditEvent]:
        """The lines this event writes in the audit trail (and offers to webhooks)."""
        return []


@dataclass(frozen=True, slots=True, kw_only=True)
class Changed(Event):
    """A change worth a line in the audit trail: on its own, one that nothing else hears of
    (tokens, policy, rules…); within another event, each line that event writes."""

    action: str
    entity_type: str
    entity_id: object
    case_id: int | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None

    def audit_entries(self) -> list[AuditEvent]:
        return [self.entry()]

    def entry(self) -> AuditEvent:
        """Its audit line; with both states given, only the fields that changed are kept."""
        before, after = self.before, self.after
        if before is not None and after is not None:
            before, after = changed_fields(before, after)
        return AuditEvent(
            at=self.at,
            actor=self.actor.ref,
            action=self.action,
            entity_type=self.entity_type,
            entity_id=str(self.entity_id),
            case_id=self.case_id,
            before=before,
            after=after,
        )
