"""Stored email: threading headers, unparseable mail kept raw, and edited templates.

The edited templates, read for every mail the desk sends, are kept per process
(config_cache.py, kind `mail_templates`): editing or resetting one moves the kind's stamp."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.adapters.db.config_cache import Cached, ConfigKind, ConfigReads, copied
from caredesk.adapters.db.rows import TableRepository, add_row, from_row, got, onto_row, save_row
from caredesk.domain.mail import MailDirection, MailFailure, MailRecord, MailStatus, MailTemplate
from caredesk.domain.outbox import CaughtMail

# The address lists have the row's own names.
_RENAMED = ("to", "cc", "references")


def _record_columns(record: MailRecord) -> dict[str, Any]:
    # The subject and sender are cut to fit.
    return {
        "to_addresses": list(record.to),
        "cc_addresses": list(record.cc),
        "reference_ids": list(record.references),
        "subject": record.subject[:500],
        "from_address": _cut(record.from_address, 320),
    }


def _cut(address: str | None, length: int) -> str | None:
    return address[:length] if address else None


def _edited_templates(session: OrmSession) -> Mapping[str, MailTemplate]:
    rows = session.scalars(select(m.MailTemplateRow))
    return MappingProxyType({r.name: from_row(MailTemplate, r) for r in rows})


_TEMPLATES = Cached(ConfigKind.MAIL_TEMPLATES, _edited_templates)


class SqlMailRepository(TableRepository[MailRecord, m.MailMessageRow]):
    entity, table = MailRecord, m.MailMessageRow

    def __init__(self, session: OrmSession, config: ConfigReads) -> None:
        super().__init__(session)
        self.config = config

    def read(self, row: m.MailMessageRow) -> MailRecord:
        return from_row(
            MailRecord,
            row,
            to=list(row.to_addresses),
            cc=list(row.cc_addresses),
            references=list(row.reference_ids),
        )

    def add(self, record: MailRecord) -> None:
        add_row(self.session, record, m.MailMessageRow(), skip=_RENAMED, **_record_columns(record))

    def save(self, record: MailRecord) -> None:
        save_row(self.session, record, m.MailMessageRow, skip=_RENAMED, **_record_columns(record))

    def by_message_id(self, message_id: str) -> MailRecord | None:
        return self.first(m.MailMessageRow.message_id == message_id)

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
        return [self.read(r) for r in reversed(rows)]

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
        return [self.read(r) for r in self.session.scalars(stmt)]

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
        return [self.read(r) for r in self.session.scalars(stmt)]

    def add_failure(self, failure: MailFailure) -> None:
        add_row(
            self.session,
            failure,
            m.MailFailureRow(),
            error=failure.error[:4000],
            envelope_from=_cut(failure.envelope_from, 320),
        )

    def failures(self, limit: int) -> list[MailFailure]:
        rows = self.session.scalars(
            select(m.MailFailureRow).order_by(m.MailFailureRow.id.desc()).limit(limit)
        )
        return [from_row(MailFailure, r) for r in rows]

    def failure(self, failure_id: int) -> MailFailure | None:
        return got(self.session, MailFailure, m.MailFailureRow, failure_id)

    def template(self, name: str) -> MailTemplate | None:
        template = self.config.get(_TEMPLATES).get(name)
        return copied(template) if template is not None else None

    def save_template(self, template: MailTemplate) -> None:
        assert template.updated_at is not None and template.updated_by is not None
        row = self.session.get(m.MailTemplateRow, template.name)
        if row is None:
            row = m.MailTemplateRow(name=template.name, version=0)
            self.session.add(row)
        onto_row(template, row, skip=("name",), version=row.version + 1)
        self.session.flush()
        template.version = row.version
        self.config.changed(ConfigKind.MAIL_TEMPLATES)

    def delete_template(self, name: str) -> bool:
        result = self.session.execute(
            delete(m.MailTemplateRow).where(m.MailTemplateRow.name == name)
        )
        self.config.changed(ConfigKind.MAIL_TEMPLATES)
        return bool(getattr(result, "rowcount", 0))


class SqlOutboxRepository(TableRepository[CaughtMail, m.OutboxMailRow]):
    entity, table = CaughtMail, m.OutboxMailRow

    def add(self, caught: CaughtMail) -> None:
        add_row(self.session, caught, m.OutboxMailRow(), envelope_from=caught.envelope_from[:320])

    def recent(self, limit: int) -> list[CaughtMail]:
        rows = self.session.scalars(
            select(m.OutboxMailRow).order_by(m.OutboxMailRow.id.desc()).limit(limit)
        )
        return [from_row(CaughtMail, r) for r in rows]
