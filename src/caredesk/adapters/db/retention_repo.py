"""Retention in the database: what is older than the cutoffs, counted, or erased and removed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, cast, delete, func, select, update
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.adapters.db.erasure_records import chunks, drop_attachments, drop_blobs, erase_cases
from caredesk.adapters.db.erasure_storage import optimise_fts
from caredesk.domain.cases import CaseStatus
from caredesk.domain.erasure import ErasureCounts, RetentionCutoffs
from caredesk.domain.mail import MailStatus


def _closed_cases(session: OrmSession, before: datetime) -> list[int]:
    ended = func.coalesce(m.CaseRow.closed_at, m.CaseRow.solved_at)
    return list(
        session.scalars(
            select(m.CaseRow.id)
            .where(
                m.CaseRow.status.in_([CaseStatus.SOLVED.value, CaseStatus.CLOSED.value]),
                m.CaseRow.erased_at.is_(None),
                ended.is_not(None),
                ended < before,
            )
            .order_by(m.CaseRow.id)
        )
    )


def _old_raw_mail(session: OrmSession, before: datetime) -> tuple[list[int], list[int]]:
    mail = list(
        session.scalars(
            select(m.MailMessageRow.id).where(
                m.MailMessageRow.raw_sha256.is_not(None),
                m.MailMessageRow.created_at < before,
                # Outbound mail still waiting to go needs its rendered source.
                m.MailMessageRow.status != MailStatus.QUEUED.value,
            )
        )
    )
    failures = list(
        session.scalars(select(m.MailFailureRow.id).where(m.MailFailureRow.received_at < before))
    )
    return mail, failures


def _old_attachments(session: OrmSession, before: datetime) -> list[int]:
    return list(
        session.scalars(
            select(m.MessageRow.id).where(
                m.MessageRow.created_at < before,
                cast(m.MessageRow.attachments, Text) != "[]",
            )
        )
    )


def retention_counts(session: OrmSession, cutoffs: RetentionCutoffs) -> ErasureCounts:
    counts = ErasureCounts()
    if cutoffs.closed_cases is not None:
        counts.add("cases", len(_closed_cases(session, cutoffs.closed_cases)))
    if cutoffs.raw_mail is not None:
        mail, failures = _old_raw_mail(session, cutoffs.raw_mail)
        counts.add("raw_mail", len(mail))
        counts.add("mail_failures", len(failures))
    if cutoffs.attachments is not None:
        for _, attachments in session.execute(
            select(m.MessageRow.id, m.MessageRow.attachments).where(
                m.MessageRow.id.in_(_old_attachments(session, cutoffs.attachments))
            )
        ).all():
            counts.add("attachments", len(attachments or []))
    return counts


def apply_retention(session: OrmSession, cutoffs: RetentionCutoffs, now: datetime) -> ErasureCounts:
    counts = ErasureCounts()
    if cutoffs.closed_cases is not None:
        case_ids = _closed_cases(session, cutoffs.closed_cases)
        erased = erase_cases(session, case_ids, None, now)
        counts.add("cases", erased.counts.get("cases", 0))
        # Its raw mail and attachments go with the case; counted under their own kinds.
        for kind in ("raw_mail", "attachments"):
            counts.add(kind, erased.counts.get(kind, 0))
    if cutoffs.raw_mail is not None:
        mail, failures = _old_raw_mail(session, cutoffs.raw_mail)
        digests: set[str | None] = set()
        for chunk in chunks(mail):
            digests.update(
                session.scalars(
                    select(m.MailMessageRow.raw_sha256).where(m.MailMessageRow.id.in_(chunk))
                )
            )
            session.execute(
                update(m.MailMessageRow)
                .where(m.MailMessageRow.id.in_(chunk))
                .values(raw_sha256=None)
            )
        for chunk in chunks(failures):
            digests.update(
                session.scalars(
                    select(m.MailFailureRow.raw_sha256).where(m.MailFailureRow.id.in_(chunk))
                )
            )
            session.execute(delete(m.MailFailureRow).where(m.MailFailureRow.id.in_(chunk)))
        drop_blobs(session, digests)
        counts.add("raw_mail", len(mail))
        counts.add("mail_failures", len(failures))
    if cutoffs.attachments is not None:
        old = _old_attachments(session, cutoffs.attachments)
        for chunk in chunks(old):
            counts.add("attachments", drop_attachments(session, m.MessageRow.id.in_(chunk)))
    if counts.total:
        optimise_fts(session)
    return counts
