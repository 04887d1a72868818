"""What every feature writes: stored contents (blobs), the audit trail, idempotency keys."""

from __future__ import annotations

import hashlib
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import mapping
from caredesk.adapters.db import models as m
from caredesk.adapters.db.conflicts import insert_or_find
from caredesk.adapters.db.rows import column_values, from_row, onto_row
from caredesk.domain.audit import AuditEvent
from caredesk.services.core.ports import IdempotencyRecord, StoredResponse


class SqlBlobStore:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def put(self, content: bytes) -> str:
        digest = hashlib.sha256(content).hexdigest()
        # One statement whether the content is new or stored before (the same attachment mailed
        # twice), and a stored content is not read back to learn that it is there.
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        self.session.execute(
            dialect.insert(m.BlobRow)
            .values(sha256=digest, size=len(content), content=content)
            .on_conflict_do_nothing(index_elements=[m.BlobRow.sha256])
        )
        return digest

    def get(self, sha256: str) -> bytes | None:
        row = self.session.get(m.BlobRow, sha256)
        return row.content if row else None


# The table itself: an insert of the mapped class would be the ORM's bulk insert, which splits
# the lines into one statement per set of columns that are not null.
_AUDIT = cast(Table, m.AuditEventRow.__table__)


class SqlAuditLog:
    """The audit trail. A transaction's lines are written together, in the order they were
    appended, by one statement when its unit of work commits: as ORM rows each was one
    INSERT ... RETURNING id that nothing needs (a mail's intake wrote three or four)."""

    def __init__(self, session: OrmSession) -> None:
        self.session = session
        self._pending: list[dict[str, Any]] = []

    def append(self, event: AuditEvent) -> None:
        self._pending.append(column_values(event, skip=("id",)))

    def write_pending(self) -> None:
        """Write the lines appended since the last write (the unit of work, as it commits)."""
        if self._pending:
            rows, self._pending = self._pending, []
            self.session.execute(insert(_AUDIT), rows)

    def for_case(self, case_id: int) -> list[AuditEvent]:
        self.write_pending()
        rows = self.session.scalars(
            select(m.AuditEventRow)
            .where(m.AuditEventRow.case_id == case_id)
            .order_by(m.AuditEventRow.id)
        )
        return [mapping.audit_from_row(r) for r in rows]

    def for_entity(self, entity_type: str, entity_id: str) -> list[AuditEvent]:
        self.write_pending()
        rows = self.session.scalars(
            select(m.AuditEventRow)
            .where(
                m.AuditEventRow.entity_type == entity_type,
                m.AuditEventRow.entity_id == entity_id,
            )
            .order_by(m.AuditEventRow.id)
        )
        return [mapping.audit_from_row(r) for r in rows]


class SqlIdempotencyStore:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def _row(self, principal: str, key: str) -> m.IdempotencyKeyRow | None:
        return self.session.scalar(
            select(m.IdempotencyKeyRow).where(
                m.IdempotencyKeyRow.principal == principal, m.IdempotencyKeyRow.key == key
            )
        )

    def reserve(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        existing = self._row(record.principal, record.key)
        if existing is None:
            # What the request was answered is written by complete(), once it has been.
            row = onto_row(record, m.IdempotencyKeyRow(), skip=("response",))
            existing = insert_or_find(
                self.session, row, lambda: self._row(record.principal, record.key)
            )
            if existing is None:
                return None
        response = None
        if existing.response_status is not None:
            response = StoredResponse(
                status_code=existing.response_status,
                body=existing.response_body or b"",
                headers=dict(existing.response_headers or {}),
            )
        return from_row(IdempotencyRecord, existing, response=response)

    def complete(self, principal: str, key: str, response: StoredResponse) -> None:
        self.session.execute(
            update(m.IdempotencyKeyRow)
            .where(m.IdempotencyKeyRow.principal == principal, m.IdempotencyKeyRow.key == key)
            .values(
                response_status=response.status_code,
                response_body=response.body,
                response_headers=response.headers,
            )
        )

    def release(self, principal: str, key: str) -> None:
        self.session.execute(
            delete(m.IdempotencyKeyRow).where(
                m.IdempotencyKeyRow.principal == principal, m.IdempotencyKeyRow.key == key
            )
        )
