"""Stored email: threading headers, unparseable mail kept raw, and edited templates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.domain.mail import (
    AutoKind,
    MailDirection,
    MailFailure,
    MailRecord,
    MailStatus,
    MailTemplate,
)
from caredesk.domain.outbox import CaughtMail


def _record_from_row(row: m.MailMessageRow) -> MailRecord:
    return MailRecord(
        id=row.id,
        direction=MailDirection(row.direction),
        message_id=row.message_id,
        status=MailStatus(row.status),
        created_at=row.created_at,
        subject=row.subject,
        from_address=row.from_address,
        to=list(row.to_addresses),
        cc=list(row.cc_addresses),
        in_reply_to=list(row.in_reply_to),
        references=list(row.reference_ids),
        case_id=row.case_id,
        case_message_id=row.case_message_id,
        auto_kind=AutoKind(row.auto_kind) if row.auto_kind else None,
        raw_sha256=row.raw_sha256,
        body_text=row.body_text,
        body_html=row.body_html,
        template=row.template,
        attempts=row.attempts,
        last_error=row.last_error,
        sent_at=row.sent_at,
    )


def _record_onto_row(record: MailRecord, row: m.MailMessageRow) -> None:
    row.direction = record.direction.value
    row.message_id = record.message_id
    row.status = record.status.value
    row.case_id = record.case_id
    row.case_message_id = record.case_message_id
    row.subject = record.subject[:500]
    row.from_address = record.from_address[:320] if record.from_address else None
    row.to_addresses = list(record.to)
    row.cc_addresses = list(record.cc)
    row.in_reply_to = list(record.in_reply_to)
    row.reference_ids = list(record.references)
    row.auto_kind = record.auto_kind.value if record.auto_kind else None
    row.raw_sha256 = record.raw_sha256
    row.body_text = record.body_text
    row.body_html = record.body_html
    row.template = record.template
    row.attempts = record.attempts
    row.last_error = record.last_error
    row.created_at = record.created_at
    row.sent_at = record.sent_at


def _failure_from_row(row: m.MailFailureRow) -> MailFailure:
    return MailFailure(
        id=row.id,
        received_at=row.received_at,
        raw_sha256=row.raw_sha256,
        size=row.size,
        error=row.error,
        source=row.source,
        envelope_from=row.envelope_from,
        envelope_to=list(row.envelope_to),
    )


class SqlMailRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def add(self, record: MailRecord) -> None:
        row = m.MailMessageRow()
        _record_onto_row(record, row)
        self.session.add(row)
        self.session.flush()
        record.id = row.id

    def get(self, mail_id: int) -> MailRecord | None:
        row = self.session.get(m.MailMessageRow, mail_id)
        return _record_from_row(row) if row else None

    def save(self, record: MailRecord) -> None:
        row = self.session.get(m.MailMessageRow, record.id)
        assert row is not None
        _record_onto_row(record, row)
        self.session.flush()

    def by_message_id(self, message_id: str) -> MailRecord | None:
        row = self.session.scalar(
            select(m.MailMessageRow).where(m.MailMessageRow.message_id == message_id)
        )
        return _record_from_row(row) if row else None

    def case_for(self, message_ids: list[str]) -> int | None:
        if not message_ids:
            return None
        rows = self.session.execute(
            select(m.MailMessageRow.message_id, m.MailMessageRow.case_id).where(
                m.MailMessageRow.message_id.in_(message_ids[:100]),
                m.MailMessageRow.case_id.is_not(None),
            )
        )
        found: dict[str, int | None] = {row[0]: row[1] for row in rows}
        return next((found[i] for i in message_ids if found.get(i) is not None), None)

    def thread(self, case_id: int, limit: int) -> list[MailRecord]:
        rows = list(
            self.session.scalars(
                select(m.MailMessageRow)
                .where(m.MailMessageRow.case_id == case_id)
                .order_by(m.MailMessageRow.id.desc())
                .limit(limit)
            )
        )
        return [_record_from_row(r) for r in reversed(rows)]

    def received_from(self, address: str, since: datetime) -> int:
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(m.MailMessageRow)
                .where(
                    m.MailMessageRow.from_address == address,
                    m.MailMessageRow.created_at >= since,
                    m.MailMessageRow.direction == MailDirection.IN.value,
                )
            )
            or 0
        )

    def find(
        self, *, direction: MailDirection | None, status: MailStatus | None, limit: int
    ) -> list[MailRecord]:
        stmt = select(m.MailMessageRow).order_by(m.MailMessageRow.id.desc()).limit(limit)
        if direction is not None:
            stmt = stmt.where(m.MailMessageRow.direction == direction.value)
        if status is not None:
            stmt = stmt.where(m.MailMessageRow.status == status.value)
        return [_record_from_row(r) for r in self.session.scalars(stmt)]

    def undelivered(self, limit: int) -> list[MailRecord]:
        stmt = (
            select(m.MailMessageRow)
            .where(
                m.MailMessageRow.direction == MailDirection.OUT.value,
                m.MailMessageRow.status.in_([MailStatus.QUEUED.value, MailStatus.FAILED.value]),
                m.MailMessageRow.last_error.is_not(None),
            )
            .order_by(m.MailMessageRow.id.desc())
            .limit(limit)
        )
        return [_record_from_row(r) for r in self.session.scalars(stmt)]

    def add_failure(self, failure: MailFailure) -> None:
        row = m.MailFailureRow(
            received_at=failure.received_at,
            raw_sha256=failure.raw_sha256,
            size=failure.size,
            error=failure.error[:4000],
            source=failure.source,
            envelope_from=failure.envelope_from[:320] if failure.envelope_from else None,
            envelope_to=list(failure.envelope_to),
        )
        self.session.add(row)
        self.session.flush()
        failure.id = row.id

    def failures(self, limit: int) -> list[MailFailure]:
        rows = self.session.scalars(
            select(m.MailFailureRow).order_by(m.MailFailureRow.id.desc()).limit(limit)
        )
        return [_failure_from_row(r) for r in rows]

    def failure(self, failure_id: int) -> MailFailure | None:
        row = self.session.get(m.MailFailureRow, failure_id)
        return _failure_from_row(row) if row else None

    def template(self, name: str) -> MailTemplate | None:
        row = self.session.get(m.MailTemplateRow, name)
        if row is None:
            return None
        return MailTemplate(
            name=row.name,
            subject=row.subject,
            text=row.text,
            html=row.html,
            updated_at=row.updated_at,
            updated_by=row.updated_by,
            version=row.version,
        )

    def save_template(self, template: MailTemplate) -> None:
        assert template.updated_at is not None and template.updated_by is not None
        row = self.session.get(m.MailTemplateRow, template.name)
        if row is None:
            row = m.MailTemplateRow(name=template.name, version=0)
            self.session.add(row)
        row.subject = template.subject
        row.text = template.text
        row.html = template.html
        row.updated_at = template.updated_at
        row.updated_by = template.updated_by
        row.version = row.version + 1
        self.session.flush()
        template.version = row.version

    def delete_template(self, name: str) -> bool:
        result = self.session.execute(
            delete(m.MailTemplateRow).where(m.MailTemplateRow.name == name)
        )
        return bool(getattr(result, "rowcount", 0))


def _caught(row: m.OutboxMailRow) -> CaughtMail:
    return CaughtMail(
        id=row.id,
        mail_id=row.mail_id,
        envelope_from=row.envelope_from,
        recipients=list(row.recipients),
        raw_sha256=row.raw_sha256,
        caught_at=row.caught_at,
    )


class SqlOutboxRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def add(self, caught: CaughtMail) -> None:
        row = m.OutboxMailRow(
            mail_id=caught.mail_id,
            envelope_from=caught.envelope_from[:320],
            recipients=list(caught.recipients),
            raw_sha256=caught.raw_sha256,
            caught_at=caught.caught_at,
        )
        self.session.add(row)
        self.session.flush()
        caught.id = row.id

    def get(self, caught_id: int) -> CaughtMail | None:
        row = self.session.get(m.OutboxMailRow, caught_id)
        return _caught(row) if row else None

    def recent(self, limit: int) -> list[CaughtMail]:
        rows = self.session.scalars(
            select(m.OutboxMailRow).order_by(m.OutboxMailRow.id.desc()).limit(limit)
        )
        return [_caught(r) for r in rows]
