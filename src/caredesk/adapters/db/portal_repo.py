"""The portal's storage: sign-in requests, portal sessions and satisfaction surveys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.domain.cases import CaseStatus
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.domain.portal import PortalSession, SatisfactionSurvey, SignInRequest
from caredesk.services.channels.ports import SolvedCase


def _sign_in(row: m.PortalSignInRow) -> SignInRequest:
    return SignInRequest(
        id=row.id,
        email_key=row.email_key,
        client_key=row.client_key,
        created_at=row.created_at,
        expires_at=row.expires_at,
        customer_id=row.customer_id,
        token_hash=row.token_hash,
        used_at=row.used_at,
    )


def _session(row: m.PortalSessionRow) -> PortalSession:
    return PortalSession(
        id=row.id,
        customer_id=row.customer_id,
        token_hash=row.token_hash,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def _survey(row: m.SatisfactionSurveyRow) -> SatisfactionSurvey:
    return SatisfactionSurvey(
        id=row.id,
        case_id=row.case_id,
        customer_id=row.customer_id,
        token_hash=row.token_hash,
        sent_at=row.sent_at,
        expires_at=row.expires_at,
        score=row.score,
        comment=row.comment,
        answered_at=row.answered_at,
    )


class SqlPortalRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def add_sign_in(self, request: SignInRequest) -> None:
        row = m.PortalSignInRow(
            email_key=request.email_key,
            client_key=request.client_key,
            customer_id=request.customer_id,
            token_hash=request.token_hash,
            created_at=request.created_at,
            expires_at=request.expires_at,
        )
        self.session.add(row)
        self.session.flush()
        request.id = row.id

    def sign_in_by_hash(self, token_hash: str) -> SignInRequest | None:
        row = self.session.scalar(
            select(m.PortalSignInRow).where(m.PortalSignInRow.token_hash == token_hash)
        )
        return _sign_in(row) if row else None

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
        row = m.PortalSessionRow(
            token_hash=session.token_hash,
            customer_id=session.customer_id,
            created_at=session.created_at,
            expires_at=session.expires_at,
        )
        self.session.add(row)
        self.session.flush()
        session.id = row.id

    def session_by_hash(self, token_hash: str) -> PortalSession | None:
        row = self.session.scalar(
            select(m.PortalSessionRow).where(m.PortalSessionRow.token_hash == token_hash)
        )
        return _session(row) if row else None

    def save_session(self, session: PortalSession) -> None:
        self.session.execute(
            update(m.PortalSessionRow)
            .where(m.PortalSessionRow.id == session.id)
            .values(expires_at=session.expires_at, revoked_at=session.revoked_at)
        )

    def add_survey(self, survey: SatisfactionSurvey) -> None:
        row = m.SatisfactionSurveyRow(
            case_id=survey.case_id,
            customer_id=survey.customer_id,
            token_hash=survey.token_hash,
            sent_at=survey.sent_at,
            expires_at=survey.expires_at,
            score=survey.score,
            comment=survey.comment,
            answered_at=survey.answered_at,
        )
        self.session.add(row)
        self.session.flush()
        survey.id = row.id

    def survey_by_hash(self, token_hash: str) -> SatisfactionSurvey | None:
        row = self.session.scalar(
            select(m.SatisfactionSurveyRow).where(m.SatisfactionSurveyRow.token_hash == token_hash)
        )
        return _survey(row) if row else None

    def survey_for_case(self, case_id: int) -> SatisfactionSurvey | None:
        row = self.session.scalar(
            select(m.SatisfactionSurveyRow).where(m.SatisfactionSurveyRow.case_id == case_id)
        )
        return _survey(row) if row else None

    def save_survey(self, survey: SatisfactionSurvey) -> None:
        self.session.execute(
            update(m.SatisfactionSurveyRow)
            .where(m.SatisfactionSurveyRow.id == survey.id)
            .values(score=survey.score, comment=survey.comment, answered_at=survey.answered_at)
        )

    def surveys(self, *, answered_since: datetime | None, limit: int) -> list[SatisfactionSurvey]:
        query = select(m.SatisfactionSurveyRow).where(
            m.SatisfactionSurveyRow.answered_at.is_not(None)
        )
        if answered_since is not None:
            query = query.where(m.SatisfactionSurveyRow.answered_at >= answered_since)
        query = query.order_by(
            m.SatisfactionSurveyRow.answered_at.desc(), m.SatisfactionSurveyRow.id.desc()
        )
        return [_survey(row) for row in self.session.scalars(query.limit(limit))]

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
        return [
            SolvedCase(
                case_id=row.id,
                customer_id=row.customer_id,
                subject=row.subject,
                solved_at=row.solved_at,
            )
            for row in rows
        ]
