"""What every feature writes: stored contents (blobs), the audit trail, idempotency keys."""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import mapping
from caredesk.adapters.db import models as m
from caredesk.adapters.db.conflicts import insert_or_find
from caredesk.adapters.db.rows import from_row, onto_row
from caredesk.domain.audit import AuditEvent
from caredesk.services.core.ports import IdempotencyRecord, StoredResponse


class SqlBlobStore:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def put(self, content: bytes) -> str:
        digest = hashlib.sha256(content).hexdigest()
        if self.session.get(m.BlobRow, digest) is None:
            self.session.add(m.BlobRow(sha256=digest, size=len(content), content=content))
            self.session.flush()
        return digest

    def get(self, sha256: str) -> bytes | None:
        row = self.session.get(m.BlobRow, sha256)
        return row.content if row else None


class SqlAuditLog:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def append(self, event: AuditEvent) -> None:
        self.session.add(onto_row(event, m.AuditEventRow(), skip=("id",)))

    def for_case(self, case_id: int) -> list[AuditEvent]:
        rows = self.session.scalars(
            select(m.AuditEventRow)
            .where(m.AuditEventRow.case_id == case_id)
            .order_by(m.AuditEventRow.id)
        )
        return [mapping.audit_from_row(r) for r in rows]

    def for_entity(self, entity_type: str, entity_id: str) -> list[AuditEvent]:
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
