"""Erasing a case's words and what lies beside them, for an erasure and for retention alike."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Result, Text, cast, delete, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.domain.erasure import (
    ERASED_TEXT,
    ErasureCounts,
    erase_details,
    scrub_value,
)
from caredesk.domain.jobs import JobState
from caredesk.domain.mail import MailDirection, MailStatus

BATCH = 500
MAIL_SEND_JOB = "mail.send"


def chunks(ids: Sequence[Any]) -> Iterable[Sequence[Any]]:
    """`ids` a batch at a time: one statement's IN list stays within every database's limits."""
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched (0 where the driver does not say)."""
    return int(getattr(result, "rowcount", 0) or 0)


def rewrite_each(
    session: OrmSession,
    key: InstrumentedAttribute[Any],
    columns: Sequence[InstrumentedAttribute[Any]],
    condition: Any,
    rewritten: Callable[..., dict[str, Any]],
    **options: Any,
) -> int:
    """Each row `condition` selects in `key`'s table written again, one by one: what
    `rewritten` makes of its `columns` (`options` go with each UPDATE). How many."""
    rows = session.execute(select(key, *columns).where(condition)).all()
    for row_key, *values in rows:
        stmt = update(key.class_).where(key == row_key).values(rewritten(*values))
        session.execute(stmt.execution_options(**options))
    return len(rows)


def scrub_grants(session: OrmSession, condition: Any, pattern: re.Pattern[str] | None) -> int:
    """Scrub the words of the grants `condition` selects; amounts stay. How many."""
    return rewrite_each(
        session,
        m.GrantRow.id,
        (m.GrantRow.summary, m.GrantRow.params),
        condition,
        lambda summary, params: {
            "summary": scrub_value(summary, pattern),
            "params": scrub_value(params, pattern),
        },
    )


def erase_cases(
    session: OrmSession, case_ids: Sequence[int], pattern: re.Pattern[str] | None, now: datetime
) -> ErasureCounts:
    """The cases' words, their messages and mail gone; what is written about them elsewhere
    (handoffs, commitments, links, surveys, triage, grants, audit) loses the text."""
    counts = ErasureCounts()
    if not case_ids:
        return counts
    case_set = set(case_ids)
    for chunk in chunks(list(case_ids)):
        _erase_case_words(session, chunk, now, counts)
        _erase_case_records(session, chunk, pattern, counts)
    counts.add(
        "webhook_deliveries",
        erase_deliveries(session, lambda p: p.get("case_id") in case_set, pattern),
    )
    return counts


def _erase_case_words(
    session: OrmSession, chunk: Sequence[int], now: datetime, counts: ErasureCounts
) -> None:
    """What the cases say: subjects, messages, attachments, mail, search and training texts."""
    session.execute(
        update(m.CaseRow)
        .where(m.CaseRow.id.in_(chunk))
        .values(
            subject=ERASED_TEXT,
            custom_fields={},
            erased_at=now,
            version=m.CaseRow.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    counts.add("cases", len(chunk))
    counts.add("attachments", drop_attachments(session, m.MessageRow.case_id.in_(chunk)))
    result = session.execute(
        update(m.MessageRow).where(m.MessageRow.case_id.in_(chunk)).values(body=ERASED_TEXT)
    )
    counts.add("messages", rowcount(result))
    mail_ids = list(
        session.scalars(select(m.MailMessageRow.id).where(m.MailMessageRow.case_id.in_(chunk)))
    )
    counts.merge(erase_mail(session, mail_ids, now))
    result = session.execute(
        delete(m.SearchEntryRow).where(
            m.SearchEntryRow.kind == "case",
            m.SearchEntryRow.ref_id.in_([str(c) for c in chunk]),
        )
    )
    counts.add("search_entries", rowcount(result))
    result = session.execute(delete(m.IntentLabelRow).where(m.IntentLabelRow.case_id.in_(chunk)))
    counts.add("intent_labels", rowcount(result))


def _erase_case_records(
    session: OrmSession,
    chunk: Sequence[int],
    pattern: re.Pattern[str] | None,
    counts: ErasureCounts,
) -> None:
    """What is written about the cases: the facts stay, the text goes."""
    result = session.execute(
        update(m.CaseHandoffRow)
        .where(m.CaseHandoffRow.case_id.in_(chunk))
        .values(summary=ERASED_TEXT, open_question=ERASED_TEXT, facts={})
    )
    counts.add("handoffs", rowcount(result))
    result = session.execute(
        update(m.CommitmentRow)
        .where(m.CommitmentRow.case_id.in_(chunk))
        .values(description=ERASED_TEXT)
    )
    counts.add("commitments", rowcount(result))
    for link_id, prior in session.execute(
        select(m.CaseLinkRow.id, m.CaseLinkRow.prior).where(
            or_(m.CaseLinkRow.case_id.in_(chunk), m.CaseLinkRow.other_case_id.in_(chunk))
        )
    ).all():
        session.execute(
            update(m.CaseLinkRow)
            .where(m.CaseLinkRow.id == link_id)
            .values(prior=erase_details(prior, pattern))
        )
    result = session.execute(
        update(m.SatisfactionSurveyRow)
        .where(m.SatisfactionSurveyRow.case_id.in_(chunk), m.SatisfactionSurveyRow.comment != "")
        .values(comment=ERASED_TEXT)
    )
    counts.add("survey_comments", rowcount(result))
    triage = m.CaseTriageRow
    for tid, signals, moments in session.execute(
        select(triage.case_id, triage.risk_signals, triage.moments).where(triage.case_id.in_(chunk))
    ).all():
        session.execute(
            update(triage)
            .where(triage.case_id == tid)
            .values(
                risk_signals=scrub_value(signals, pattern),
                moments=scrub_value(moments, pattern),
            )
        )
    scrub_grants(session, m.GrantRow.case_id.in_(chunk), pattern)
    counts.add("audit_events", erase_audit(session, m.AuditEventRow.case_id.in_(chunk), pattern))


def erase_mail(session: OrmSession, mail_ids: Sequence[int], now: datetime) -> ErasureCounts:
    """These mails' words, addresses and raw source gone; mail still queued to go is not sent."""
    counts = ErasureCounts()
    for chunk in chunks(list(mail_ids)):
        rows = session.execute(
            select(
                m.MailMessageRow.id,
                m.MailMessageRow.direction,
                m.MailMessageRow.status,
                m.MailMessageRow.raw_sha256,
            ).where(m.MailMessageRow.id.in_(chunk))
        ).all()
        raw = {r.raw_sha256 for r in rows if r.raw_sha256}
        for row in rows:
            values: dict[str, Any] = {
                "subject": ERASED_TEXT,
                "to_addresses": [],
                "cc_addresses": [],
                "in_reply_to": [],
                "reference_ids": [],
                "body_text": ERASED_TEXT,
                "body_html": None,
                "raw_sha256": None,
                "last_error": None,
                # A client's Message-ID names its host and often the sender.
                "message_id": f"<erased.{row.id}@invalid>",
            }
            if row.direction == MailDirection.IN.value:
                values["from_address"] = None
            if row.status == MailStatus.QUEUED.value:
                values["status"] = MailStatus.FAILED.value
                values["last_error"] = "not sent: the recipient's data was erased"
            session.execute(
                update(m.MailMessageRow).where(m.MailMessageRow.id == row.id).values(**values)
            )
        counts.add("mail", len(rows))
        # The outbox's copy of the mail (development desks) names the same blob.
        session.execute(delete(m.OutboxMailRow).where(m.OutboxMailRow.mail_id.in_(chunk)))
        counts.add("raw_mail", drop_blobs(session, raw))
        result = session.execute(
            update(m.JobRow)
            .where(
                m.JobRow.kind == MAIL_SEND_JOB,
                m.JobRow.key.in_([f"mail:{i}" for i in chunk]),
                m.JobRow.state == JobState.QUEUED.value,
            )
            .values(
                state=JobState.DEAD.value,
                last_error="cancelled: the recipient's data was erased",
                finished_at=now,
                updated_at=now,
            )
        )
        counts.add("jobs_cancelled", rowcount(result))
    return counts


def drop_attachments(session: OrmSession, where: Any) -> int:
    """Attachments of these messages: the list emptied, the contents removed."""
    dropped = 0
    digests: set[str] = set()
    for mid, attachments in session.execute(
        select(m.MessageRow.id, m.MessageRow.attachments).where(where)
    ).all():
        if not attachments:
            continue
        digests.update(a["sha256"] for a in attachments if a.get("sha256"))
        dropped += len(attachments)
        session.execute(update(m.MessageRow).where(m.MessageRow.id == mid).values(attachments=[]))
    drop_blobs(session, digests)
    return dropped


def drop_blobs(session: OrmSession, digests: Iterable[str | None]) -> int:
    """Delete these contents unless another record still refers to them (the same file
    sent by two people is stored once)."""
    dropped = 0
    for digest in {d for d in digests if d}:
        if _blob_in_use(session, digest):
            continue
        result = session.execute(delete(m.BlobRow).where(m.BlobRow.sha256 == digest))
        dropped += rowcount(result)
    return dropped


def _blob_in_use(session: OrmSession, digest: str) -> bool:
    session.flush()
    checks = [
        select(m.MailMessageRow.id).where(m.MailMessageRow.raw_sha256 == digest).limit(1),
        select(m.MailFailureRow.id).where(m.MailFailureRow.raw_sha256 == digest).limit(1),
        select(m.MessageRow.id)
        .where(cast(m.MessageRow.attachments, Text).like(f"%{digest}%"))
        .limit(1),
    ]
    return any(session.scalar(check) is not None for check in checks)


def erase_audit(session: OrmSession, where: Any, pattern: re.Pattern[str] | None) -> int:
    """Audit facts (who, what, when, on which record) stay; the details lose the text."""
    changed = 0
    for aid, before, after in session.execute(
        select(m.AuditEventRow.id, m.AuditEventRow.before, m.AuditEventRow.after).where(where)
    ).all():
        new_before = erase_details(before, pattern) if before is not None else None
        new_after = erase_details(after, pattern) if after is not None else None
        if (new_before, new_after) != (before, after):
            session.execute(
                update(m.AuditEventRow)
                .where(m.AuditEventRow.id == aid)
                .values(before=new_before, after=new_after)
            )
            changed += 1
    return changed


def erase_deliveries(
    session: OrmSession,
    concerns: Callable[[dict[str, Any]], bool],
    pattern: re.Pattern[str] | None,
) -> int:
    """Webhook deliveries whose payload `concerns`: its details lose the text, like audit's."""
    changed = 0
    rows = session.execute(select(m.WebhookDeliveryRow.id, m.WebhookDeliveryRow.payload)).all()
    for did, payload in rows:
        if not isinstance(payload, dict) or not concerns(payload):
            continue
        erased = {
            **payload,
            "before": erase_details(payload.get("before"), pattern),
            "after": erase_details(payload.get("after"), pattern),
        }
        if erased != payload:
            session.execute(
                update(m.WebhookDeliveryRow)
                .where(m.WebhookDeliveryRow.id == did)
                .values(payload=erased)
            )
            changed += 1
    return changed
