"""What an import from Zendesk shares between its parts: its unit of work, its outcomes, the
report of what it skipped, and reading Zendesk's values into the desk's."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from caredesk.domain.audit import AuditEvent
from caredesk.domain.cases import CaseStatus, Priority
from caredesk.services.cases.ports import HasBlobs
from caredesk.services.channels.ports import HasPortal
from caredesk.services.core.ports import Transaction
from caredesk.services.core.unit import HasCaseRecords, HasFollowOns, HasStaff
from caredesk.services.knowledge.unit import KnowledgeUnit
from caredesk.services.zendesk.ports import HasImportRecords, HasTicketFields, Record


class ImportUnit(
    KnowledgeUnit,
    HasStaff,
    HasCaseRecords,
    HasFollowOns,
    HasBlobs,
    HasPortal,
    HasTicketFields,
    HasImportRecords,
    Transaction,
    Protocol,
):
    """Everything one imported object may write, with its id mapping, in one transaction;
    triage's reach too, as an imported case is triaged where it is stored."""


class Outcome(StrEnum):
    IMPORTED = "imported"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Skip:
    """One thing the import left out, and why: a line of the report."""

    kind: str
    source_id: str
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)

    def line(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source_id": self.source_id,
            "reason": self.reason,
            **self.detail,
        }


class BrokenRecord(Exception):
    """A record the desk cannot store as it is: it is reported and the import goes on."""


class ImportObserver(Protocol):
    """Who watches the import: the command line's progress bars and report file, a test."""

    def counted(self, kind: str, outcome: Outcome) -> None: ...

    def skipped(self, skip: Skip) -> None: ...

    def stored(self, kind: str) -> None:
        """An object of this kind was committed (the point where an import may be stopped)."""
        ...


STATUSES = {
    "new": CaseStatus.NEW,
    "open": CaseStatus.OPEN,
    "pending": CaseStatus.PENDING,
    "hold": CaseStatus.ON_HOLD,
    "solved": CaseStatus.SOLVED,
    "closed": CaseStatus.CLOSED,
}
PRIORITIES = {p.value: p for p in Priority}
SURVEY_SCORES = {"good": 5, "bad": 1}
_NOT_TAG = re.compile(r"[^a-z0-9_\-:.]+")


def when(record: Record, key: str) -> datetime | None:
    """A Zendesk time (`2024-01-31T10:00:00Z`) as an aware datetime; absent is None."""
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BrokenRecord(f"{key} is not a time")
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise BrokenRecord(f"{key} {value!r} is not a time") from exc


def required_when(record: Record, key: str) -> datetime:
    found = when(record, key)
    if found is None:
        raise BrokenRecord(f"{key} is missing")
    return found


def source_id(record: Record) -> str:
    value = record.get("id")
    if not isinstance(value, int) or isinstance(value, bool):
        raise BrokenRecord("the record has no numeric id")
    return str(value)


def is_newer(updated_at: datetime | None, stored: datetime | None) -> bool:
    """The source changed the object since it was stored (no time on either: it did not)."""
    return updated_at is not None and (stored is None or updated_at > stored)


def organization_tag(name: str) -> str:
    """`org:<name>` as a case tag may be written: lower case, other characters as `-`."""
    slug = _NOT_TAG.sub("-", name.strip().lower()).strip("-") or "unnamed"
    return f"org:{slug}"[:64]


def audit_line(
    at: datetime, actor: str, action: str, entity: tuple[str, str], after: dict[str, Any]
) -> AuditEvent:
    """An import's audit line, written straight to the trail: imported history is not news,
    so it feeds no webhook (the event bus that would is not asked)."""
    entity_type, entity_id = entity
    case_id = int(entity_id) if entity_type == "case" else None
    return AuditEvent(
        at=at,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        case_id=case_id,
        after=after,
    )
