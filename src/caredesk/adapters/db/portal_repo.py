"""The portal's storage: sign-in requests, portal sessions and satisfaction surveys."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.adapters.db.rows import add_row, first, from_row, update_fields
from caredesk.domain.cases import CaseStatus
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.domain.portal import PortalSession, SatisfactionSurvey, SignInRequest
from caredesk.services.channels.ports import SolvedCase

Kept = TypeVar("Kept", SignInRequest, PortalSession, SatisfactionSurvey)
Hashed = TypeVar("Hashed", m.PortalSignInRow, m.PortalSessionRow, m.SatisfactionSurveyRow)


class SqlPortalRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def add_sign_in(self, request: SignInRequest) -> None:
        add_row(self.session, request, m.PortalSignInRow())

    def sign_in_by_hash(self, token_hash: str) -> SignInRequest | None:
        return self._by_hash(SignInRequest, m.PortalSignInRow, token_hash)

    def save_sign_in(self, request: SignInRequest) -> None:
        # Only an unused link is claimed: of two clicks racing, exactly one signs in.
        result = self.session.execute(
            update(m.PortalSignInRow)
            .where(m.PortalSignInRow.id == request.id, m.PortalSignInRow.used_at.is_(None))
            .values(used_at=request.used_at)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise DomainError(
                "this sign-in link was already used; ask for a new one",
                code=ErrorCode.TOKEN_REVOKED,
            )

    def sign_ins_since(
        self, *, email_key: str | None, client_key: str | None, since: datetime
    ) -> int:
        query = select(func.count()).select_from(m.PortalSignInRow)
        query = query.where(m.PortalSignInRow.created_at >= since)
        if email_key is not None:
            query = query.where(m.PortalSignInRow.email_key == email_key)
        if client_key is not None:
            query = query.where(m.PortalSignInRow.client_key == client_key)
        return int(self.session.scalar(query) or 0)

    def add_session(self, session: PortalSession) -> None:
        add_row(self.session, session, m.PortalSessionRow())

    def session_by_hash(self, token_hash: str) -> PortalSession | None:
        return self._by_hash(PortalSession, m.PortalSessionRow, token_hash)

    def save_session(self, session: PortalSession) -> None:
        update_fields(self.session, session, m.PortalSessionRow, "expires_at", "revoked_at")

    def add_survey(self, survey: SatisfactionSurvey) -> None:
        add_row(self.session, survey, m.SatisfactionSurveyRow())

    def survey_by_hash(self, token_hash: str) -> SatisfactionSurvey | None:
        return self._by_hash(SatisfactionSurvey, m.SatisfactionSurveyRow, token_hash)

    def _by_hash(self, cls: type[Kept], table: type[Hashed], token_hash: str) -> Kept | None:
        # A sign-in link's, a session's and a survey's secret is kept only as its hash.
        return first(self.session, cls, table, table.token_hash == token_hash)

    def survey_for_case(self, case_id: int) -> SatisfactionSurvey | None:
        survey = m.SatisfactionSurveyRow
        return first(self.session, SatisfactionSurvey, survey, survey.case_id == case_id)

    def save_survey(self, survey: SatisfactionSurvey) -> None:
        answer = ("score", "comment", "answered_at")
        update_fields(self.session, survey, m.SatisfactionSurveyRow, *answer)

    def surveys(self, *, answered_since: datetime | None, limit: int) -> list[SatisfactionSurvey]:
        query = select(m.SatisfactionSurveyRow).where(
            m.SatisfactionSurveyRow.answered_at.is_not(None)
        )
        if answered_since is not None:
            query = query.where(m.SatisfactionSurveyRow.answered_at >= answered_since)
        query = query.order_by(
            m.SatisfactionSurveyRow.answered_at.desc(), m.SatisfactionSurveyRow.id.desc()
        )
        return [
            from_row(SatisfactionSurvey, row) for row in self.session.scalars(query.limit(limit))
        ]

    def solved_without_survey(self, *, solved_since: datetime, limit: int) -> list[SolvedCase]:
        c = m.CaseRow
        has_survey = (
            select(m.SatisfactionSurveyRow.id)
            .where(m.SatisfactionSurveyRow.case_id == c.id)
            .exists()
        )
        rows = self.session.execute(
            select(c.id, c.customer_id, c.subject, c.solved_at)
            .where(
                c.status == CaseStatus.SOLVED.value,
                c.solved_at >= solved_since,
                ~has_survey,
            )
            .order_by(c.solved_at, c.id)
            .limit(limit)
        )
        return [from_row(SolvedCase, row, case_id=row.id) for row in rows]
