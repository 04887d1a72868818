"""The Zendesk-compatible API's user ids (services/zendesk/ports.py) in zendesk_users, and its
uploads in zendesk_uploads."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.domain.cases import Attachment
from caredesk.services.zendesk.ports import Upload, UserRef

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
