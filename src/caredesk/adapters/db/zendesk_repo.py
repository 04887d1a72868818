"""The Zendesk-compatible API's storage (services/zendesk/ports.py): user ids in zendesk_users,
the cases in the order they last changed, the satisfaction surveys as ratings, uploads in
zendesk_uploads, the import's checkpoints and id mapping, and the ticket fields."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import mapping
from caredesk.adapters.db import models as m
from caredesk.adapters.db.rows import from_row
from caredesk.domain.cases import Attachment, Case
from caredesk.domain.portal import SatisfactionSurvey
from caredesk.services.zendesk.ports import ImportedId, TicketField, Upload, UserRef

_ROW = m.ZendeskUserRow


class SqlUserIdRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def ids_of(self, people: Collection[UserRef]) -> dict[UserRef, int]:
        customers = sorted({p.customer_id for p in people if p.customer_id is not None})
        agents = sorted({p.agent_id for p in people if p.agent_id is not None})
        if not customers and not agents:
            return {}
        rows = self.session.execute(
            select(_ROW.id, _ROW.customer_id, _ROW.agent_id).where(
                or_(_ROW.customer_id.in_(customers), _ROW.agent_id.in_(agents))
            )
        )
        return {UserRef(customer_id, agent_id): user_id for user_id, customer_id, agent_id in rows}

    def assign(self, people: Collection[UserRef], now: datetime) -> None:
        if not people:
            return
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        values = [
            {"customer_id": p.customer_id, "agent_id": p.agent_id, "created_at": now}
            for p in sorted(people, key=lambda p: (p.customer_id or "", p.agent_id or 0))
        ]
        # One statement; a person another process gave an id first keeps that id (the unique
        # constraint on either column skips the row rather than failing the transaction).
        self.session.execute(dialect.insert(_ROW).values(values).on_conflict_do_nothing())

    def people(self, user_ids: Collection[int]) -> dict[int, UserRef]:
        rows = self.session.execute(
            select(_ROW.id, _ROW.customer_id, _ROW.agent_id).where(_ROW.id.in_(list(user_ids)))
        )
        return {user_id: UserRef(customer_id, agent_id) for user_id, customer_id, agent_id in rows}


class SqlCaseStream:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def changed_after(self, updated_at: datetime, case_id: int, limit: int) -> list[Case]:
        c = m.CaseRow
        # ix_cases_updated (updated_at, id) walked upward from the position.
        stmt = (
            select(c)
            .where(
                c.updated_at >= updated_at,
                or_(c.updated_at > updated_at, c.id > case_id),
            )
            .order_by(c.updated_at, c.id)
            .limit(limit)
        )
        return [mapping.case_from_row(row) for row in self.session.scalars(stmt)]


class SqlRatingRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def page(self, after_id: int, limit: int) -> list[SatisfactionSurvey]:
        s = m.SatisfactionSurveyRow
        stmt = select(s).where(s.id > after_id).order_by(s.id).limit(limit)
        return [from_row(SatisfactionSurvey, row) for row in self.session.scalars(stmt)]

    def count(self) -> int:
        stmt = select(func.count()).select_from(m.SatisfactionSurveyRow)
        return int(self.session.scalar(stmt) or 0)

    def get(self, survey_id: int) -> SatisfactionSurvey | None:
        row = self.session.get(m.SatisfactionSurveyRow, survey_id)
        return None if row is None else from_row(SatisfactionSurvey, row)


class SqlTicketFieldRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def put(self, ticket_field: TicketField) -> None:
        row = self.session.get(m.TicketFieldRow, ticket_field.id) or m.TicketFieldRow(
            id=ticket_field.id
        )
        row.title = ticket_field.title
        row.type = ticket_field.type
        row.active = ticket_field.active
        row.options = list(ticket_field.options)
        row.position = ticket_field.position
        self.session.add(row)
        self.session.flush()

    def get(self, field_id: int) -> TicketField | None:
        row = self.session.get(m.TicketFieldRow, field_id)
        return _field(row) if row is not None else None

    def all(self) -> list[TicketField]:
        rows = self.session.scalars(
            select(m.TicketFieldRow).order_by(m.TicketFieldRow.position, m.TicketFieldRow.id)
        )
        return [_field(row) for row in rows]


def _field(row: m.TicketFieldRow) -> TicketField:
    return TicketField(
        id=row.id,
        title=row.title,
        type=row.type,
        active=row.active,
        options=list(row.options),
        position=row.position,
    )


class SqlImportRecords:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def checkpoint(self, source: str, kind: str) -> str | None:
        row = self.session.get(m.ZendeskImportCheckpointRow, (source, kind))
        return row.cursor if row is not None else None

    def save_checkpoint(self, source: str, kind: str, cursor: str, now: datetime) -> None:
        row = self.session.get(m.ZendeskImportCheckpointRow, (source, kind))
        if row is None:
            row = m.ZendeskImportCheckpointRow(source=source, kind=kind)
            self.session.add(row)
        row.cursor = cursor
        row.updated_at = now
        self.session.flush()

    def imported(self, source: str, kind: str, source_id: str) -> ImportedId | None:
        row = self.session.get(m.ZendeskImportIdRow, (source, kind, source_id))
        return ImportedId(row.local_id, row.source_updated_at) if row is not None else None

    def remember(
        self,
        source: str,
        kind: str,
        source_id: str,
        local_id: str,
        source_updated_at: datetime | None,
    ) -> None:
        row = self.session.get(m.ZendeskImportIdRow, (source, kind, source_id))
        if row is None:
            row = m.ZendeskImportIdRow(source=source, kind=kind, source_id=source_id)
            self.session.add(row)
        row.local_id = local_id
        row.source_updated_at = source_updated_at
        self.session.flush()


_UPLOAD = m.ZendeskUploadRow


class SqlUploadRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def add(self, upload: Upload) -> None:
        item = upload.attachment
        self.session.add(
            _UPLOAD(
                token=upload.token,
                sha256=item.sha256,
                filename=item.filename,
                content_type=item.content_type,
                size=item.size,
                owner=upload.owner,
                created_at=upload.created_at,
                expires_at=upload.expires_at,
                used_at=None,
            )
        )
        self.session.flush()

    def take(self, tokens: Collection[str], owner: str, now: datetime) -> dict[str, Upload]:
        if not tokens:
            return {}
        usable = (
            _UPLOAD.token.in_(sorted(set(tokens))),
            _UPLOAD.owner == owner,
            _UPLOAD.used_at.is_(None),
            _UPLOAD.expires_at > now,
        )
        # One UPDATE: it takes the rows' locks, so a second comment naming the same token
        # waits for this transaction and then finds it used.
        taken = self.session.scalars(
            update(_UPLOAD).where(*usable).values(used_at=now).returning(_UPLOAD)
        ).all()
        return {
            row.token: Upload(
                token=row.token,
                attachment=Attachment(
                    sha256=row.sha256,
                    filename=row.filename,
                    content_type=row.content_type,
                    size=row.size,
                ),
                owner=row.owner,
                created_at=row.created_at,
                expires_at=row.expires_at,
            )
            for row in taken
        }
