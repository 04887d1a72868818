"""The Zendesk-compatible API's storage (services/zendesk/ports.py): user ids in zendesk_users,
the cases in the order they last changed, and the satisfaction surveys as ratings."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import mapping
from caredesk.adapters.db import models as m
from caredesk.adapters.db.rows import from_row
from caredesk.domain.cases import Case
from caredesk.domain.portal import SatisfactionSurvey
from caredesk.services.zendesk.ports import UserRef

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
