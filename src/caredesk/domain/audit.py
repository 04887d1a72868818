"""The append-only audit log: who did what, when, with the state before and after."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class AuditEvent:
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    case_id: int | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    id: int | None = field(default=None, compare=False)


def changed_fields(
    before: dict[str, Any], after: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that changed, so the trail reads as a list of edits."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
