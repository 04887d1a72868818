"""Erasure and retention in the database: every table that holds personal data.

The inventory (docs/privacy.md keeps the same list for readers):

- customers, customer_emails, payment_methods (last four digits): the person.
- orders.address, orders.details: the delivery address; totals and lines stay.
- cases.subject, cases.custom_fields; messages.body, messages.attachments: their words.
- mail_messages (addresses, subject, bodies, Message-ID and threading headers),
  mail_failures (envelope sender), outbox_mail (mail kept instead of sent, deleted with its
  mail), blobs (raw MIME, attachment contents).
- search_entries (the "similar cases" index, lexical and embedding) and the FTS5 tables
  kept by triggers on SQLite (case_subject_fts, message_fts, search_fts).
- intent_labels.text (the customer's words as a training example).
- case_handoffs, commitments, case_links.prior, csat_surveys.comment: text about the case.
- grants.summary and params, approvals.note, ledger_entries.memo: text beside the money.
- audit_events.before/after and webhook_deliveries.payload: details of what happened.
- jobs (queued mail to the person is cancelled), idempotency_keys.response_body (a stored
  answer that quoted the person), portal_sign_ins, portal_sessions, api_tokens bound to
  the customer (revoked), proactive_findings.

Every text and JSON column of every table is then searched for the person's name, email
addresses and phone numbers, so that a copy in a place this list missed goes too.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Engine,
    LargeBinary,
    String,
    Text,
    cast,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.domain.cases import CaseStatus
from caredesk.domain.erasure import (
    ERASED_TEXT,
    ErasureCounts,
    PersonalData,
    RetentionCutoffs,
    erase_details,
    erased_address,
    needle_pattern,
    scrub_value,
)
from caredesk.domain.jobs import JobState
from caredesk.domain.mail import MailDirection, MailStatus
from caredesk.domain.portal import email_key

log = logging.getLogger("caredesk.erasure")

BATCH = 500
MAIL_SEND_JOB = "mail.send"
# Tables the sweep for the person's identifiers leaves alone: secrets and hashes, where a
# name cannot be, and the blobs, which are removed by reference instead.
SWEEP_SKIP = frozenset({"blobs", "sessions", "auth_throttles", "intent_models"})
SQLITE_FTS = ("case_subject_fts", "message_fts", "search_fts")
GRANT_ENTITIES = ("grant", "approval")
# What an erasure or a retention run rewrites or deletes: vacuumed after it on PostgreSQL.
ERASURE_TABLES = (
    "customers",
    "customer_emails",
    "payment_methods",
    "orders",
    "cases",
    "messages",
    "mail_messages",
    "mail_failures",
    "outbox_mail",
    "blobs",
    "search_entries",
    "intent_labels",
    "case_handoffs",
    "commitments",
    "case_links",
    "csat_surveys",
    "case_triage",
    "grants",
    "approvals",
    "ledger_entries",
    "audit_events",
    "webhook_deliveries",
    "jobs",
    "idempotency_keys",
    "portal_sign_ins",
    "portal_sessions",
    "api_tokens",
    "proactive_findings",
)


def _chunks(ids: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def _like(needle: str) -> str:
    escaped = needle.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _json_forms(needle: str) -> list[str]:
    """The needle as it appears in stored JSON text too (non-ASCII is escaped there)."""
    encoded = json.dumps(needle)[1:-1]
    return [needle] if encoded == needle else [needle, encoded]


class SqlErasureStore:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    # --- erasure ---------------------------------------------------------------------

    def personal_data(self, customer_id: str) -> tuple[PersonalData, datetime | None] | None:
        row = self.session.get(m.CustomerRow, customer_id)
        if row is None:
            return None
        person = PersonalData(
            customer_id=row.id,
            seq=row.seq,
            first_name=row.first_name,
            last_name=row.last_name,
            emails=tuple(e.email for e in row.emails),
            phones=tuple(row.phones or ()),
            addresses=tuple(row.addresses or ()),
        )
        return person, row.erased_at

    def erase_customer(self, person: PersonalData, now: datetime) -> ErasureCounts:
        counts = ErasureCounts()
        owned = needle_pattern(person.owned_needles())
        cid = person.customer_id
        case_ids = list(
            self.session.scalars(select(m.CaseRow.id).where(m.CaseRow.customer_id == cid))
        )
        grant_ids = list(
            self.session.scalars(select(m.GrantRow.id).where(m.GrantRow.customer_id == cid))
        )
        counts.merge(self._erase_cases(case_ids, owned, now))
        counts.merge(self._erase_person_mail(person, now))
        counts.add("orders", self._erase_orders(cid, owned))
        counts.merge(self._erase_money_texts(grant_ids, owned))
        counts.merge(self._end_access(person, now))
        counts.add(
            "audit_events",
            self._erase_audit(
                or_(
                    (m.AuditEventRow.entity_type == "customer")
                    & (m.AuditEventRow.entity_id == cid),
                    m.AuditEventRow.entity_type.in_(GRANT_ENTITIES)
                    & m.AuditEventRow.entity_id.in_([str(g) for g in grant_ids]),
                ),
                owned,
            ),
        )
        counts.add(
            "webhook_deliveries",
            self._erase_deliveries(
                lambda p: (
                    (p.get("entity_type") == "customer" and p.get("entity_id") == cid)
                    or (
                        p.get("entity_type") in GRANT_ENTITIES
                        and str(p.get("entity_id")) in {str(g) for g in grant_ids}
                    )
                ),
                owned,
            ),
        )
        counts.add("proactive_findings", self._erase_findings(cid, owned))
        counts.add("stored_answers", self._erase_answers(person, owned))
        self._erase_customer_row(person, now)
        counts.add("customers", 1)
        # Last, the safety net: the person's identifiers anywhere else (a note on another
        # case, a token's name, an address copied into a rule).
        counts.add("other_records", self._sweep(person.identifiers()))
        self._optimise_fts()
        return counts

    def _erase_customer_row(self, person: PersonalData, now: datetime) -> None:
        tomb = person.tombstone
        cid = person.customer_id
        self.session.execute(
            delete(m.CustomerEmailRow).where(m.CustomerEmailRow.customer_id == cid)
        )
        self.session.add(m.CustomerEmailRow(email=tomb.email, customer_id=cid, position=0))
        self.session.execute(
            update(m.PaymentMethodRow)
            .where(m.PaymentMethodRow.customer_id == cid)
            .values(last_four=None)
        )
        self.session.execute(
            update(m.CustomerRow)
            .where(m.CustomerRow.id == cid)
            .values(
                first_name=tomb.first_name,
                last_name=tomb.last_name,
                name_key=tomb.name.lower(),
                phones=[],
                addresses=[],
                erased_at=now,
                updated_at=now,
                version=m.CustomerRow.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        self.session.expire_all()

    def _erase_orders(self, customer_id: str, pattern: re.Pattern[str] | None) -> int:
        rows = self.session.execute(
            select(m.OrderRow.id, m.OrderRow.address, m.OrderRow.details).where(
                m.OrderRow.customer_id == customer_id
            )
        ).all()
        for order_id, address, details in rows:
            self.session.execute(
                update(m.OrderRow)
                .where(m.OrderRow.id == order_id)
                .values(
                    address=erased_address(address or {}),
                    details=scrub_value(details or {}, pattern),
                    version=m.OrderRow.version + 1,
                )
                .execution_options(synchronize_session=False)
            )
        return len(rows)

    def _scrub_grants(self, condition: Any, pattern: re.Pattern[str] | None) -> int:
        """Scrub the words of the grants `condition` selects; amounts stay. How many."""
        rows = self.session.execute(
            select(m.GrantRow.id, m.GrantRow.summary, m.GrantRow.params).where(condition)
        ).all()
        for gid, summary, params in rows:
            self.session.execute(
                update(m.GrantRow)
                .where(m.GrantRow.id == gid)
                .values(summary=scrub_value(summary, pattern), params=scrub_value(params, pattern))
            )
        return len(rows)

    def _erase_money_texts(
        self, grant_ids: Sequence[int], pattern: re.Pattern[str] | None
    ) -> ErasureCounts:
        """The words beside the money; amounts, accounts and dates are the books."""
        counts = ErasureCounts()
        for chunk in _chunks(list(grant_ids)):
            counts.add("grants", self._scrub_grants(m.GrantRow.id.in_(chunk), pattern))
            for aid, note in self.session.execute(
                select(m.ApprovalRow.id, m.ApprovalRow.note).where(
                    m.ApprovalRow.grant_id.in_(chunk)
                )
            ).all():
                self.session.execute(
                    update(m.ApprovalRow)
                    .where(m.ApprovalRow.id == aid)
                    .values(note=ERASED_TEXT if note else note)
                )
                counts.add("approvals", 1)
            for lid, memo in self.session.execute(
                select(m.LedgerEntryRow.id, m.LedgerEntryRow.memo).where(
                    m.LedgerEntryRow.grant_id.in_(chunk)
                )
            ).all():
                scrubbed = scrub_value(memo, pattern)
                if scrubbed != memo:
                    self.session.execute(
                        update(m.LedgerEntryRow)
                        .where(m.LedgerEntryRow.id == lid)
                        .values(memo=scrubbed)
                    )
                    counts.add("ledger_memos", 1)
        return counts

    def _end_access(self, person: PersonalData, now: datetime) -> ErasureCounts:
        """Sign-in links, portal sessions and customer-bound tokens stop working."""
        counts = ErasureCounts()
        cid = person.customer_id
        keys = [email_key(e) for e in person.emails]
        result = self.session.execute(
            delete(m.PortalSignInRow).where(
                or_(m.PortalSignInRow.customer_id == cid, m.PortalSignInRow.email_key.in_(keys))
            )
        )
        counts.add("portal_sign_ins", int(getattr(result, "rowcount", 0) or 0))
        result = self.session.execute(
            delete(m.PortalSessionRow).where(m.PortalSessionRow.customer_id == cid)
        )
        counts.add("portal_sessions", int(getattr(result, "rowcount", 0) or 0))
        result = self.session.execute(
            update(m.ApiTokenRow)
            .where(m.ApiTokenRow.customer_id == cid, m.ApiTokenRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        counts.add("tokens_revoked", int(getattr(result, "rowcount", 0) or 0))
        result = self.session.execute(
            update(m.CsatSurveyRow)
            .where(m.CsatSurveyRow.customer_id == cid, m.CsatSurveyRow.comment != "")
            .values(comment=ERASED_TEXT)
        )
        counts.add("survey_comments", int(getattr(result, "rowcount", 0) or 0))
        return counts

    def _erase_person_mail(self, person: PersonalData, now: datetime) -> ErasureCounts:
        """Mail to or from the person that is on no case of theirs: sign-in links, unfiled
        mail, bounces, and mail that could not be parsed."""
        counts = ErasureCounts()
        forms = [f for e in person.emails for f in _json_forms(e)]
        if not forms:
            return counts
        addressed = or_(
            func.lower(m.MailMessageRow.from_address).in_([e.lower() for e in person.emails]),
            *(
                func.lower(cast(m.MailMessageRow.to_addresses, Text)).like(_like(f), escape="\\")
                for f in forms
            ),
            *(
                func.lower(cast(m.MailMessageRow.cc_addresses, Text)).like(_like(f), escape="\\")
                for f in forms
            ),
        )
        mail_ids = list(
            self.session.scalars(
                select(m.MailMessageRow.id).where(addressed, m.MailMessageRow.case_id.is_(None))
            )
        )
        counts.merge(self._erase_mail(mail_ids, now))
        failures = self.session.execute(
            select(m.MailFailureRow.id, m.MailFailureRow.raw_sha256).where(
                func.lower(m.MailFailureRow.envelope_from).in_([e.lower() for e in person.emails])
            )
        ).all()
        if failures:
            self.session.execute(
                delete(m.MailFailureRow).where(m.MailFailureRow.id.in_([f[0] for f in failures]))
            )
            counts.add("mail_failures", len(failures))
            counts.add("blobs", self._drop_blobs({f[1] for f in failures}))
        return counts

    # --- cases (erasure and retention alike) -----------------------------------------

    def _erase_cases(
        self, case_ids: Sequence[int], pattern: re.Pattern[str] | None, now: datetime
    ) -> ErasureCounts:
        counts = ErasureCounts()
        if not case_ids:
            return counts
        case_set = set(case_ids)
        for chunk in _chunks(list(case_ids)):
            self.session.execute(
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
            counts.add("attachments", self._drop_attachments(m.MessageRow.case_id.in_(chunk)))
            result = self.session.execute(
                update(m.MessageRow).where(m.MessageRow.case_id.in_(chunk)).values(body=ERASED_TEXT)
            )
            counts.add("messages", int(getattr(result, "rowcount", 0) or 0))
            mail_ids = list(
                self.session.scalars(
                    select(m.MailMessageRow.id).where(m.MailMessageRow.case_id.in_(chunk))
                )
            )
            counts.merge(self._erase_mail(mail_ids, now))
            result = self.session.execute(
                delete(m.SearchEntryRow).where(
                    m.SearchEntryRow.kind == "case",
                    m.SearchEntryRow.ref_id.in_([str(c) for c in chunk]),
                )
            )
            counts.add("search_entries", int(getattr(result, "rowcount", 0) or 0))
            result = self.session.execute(
                delete(m.IntentLabelRow).where(m.IntentLabelRow.case_id.in_(chunk))
            )
            counts.add("intent_labels", int(getattr(result, "rowcount", 0) or 0))
            result = self.session.execute(
                update(m.CaseHandoffRow)
                .where(m.CaseHandoffRow.case_id.in_(chunk))
                .values(summary=ERASED_TEXT, open_question=ERASED_TEXT, facts={})
            )
            counts.add("handoffs", int(getattr(result, "rowcount", 0) or 0))
            result = self.session.execute(
                update(m.CommitmentRow)
                .where(m.CommitmentRow.case_id.in_(chunk))
                .values(description=ERASED_TEXT)
            )
            counts.add("commitments", int(getattr(result, "rowcount", 0) or 0))
            for link_id, prior in self.session.execute(
                select(m.CaseLinkRow.id, m.CaseLinkRow.prior).where(
                    or_(m.CaseLinkRow.case_id.in_(chunk), m.CaseLinkRow.other_case_id.in_(chunk))
                )
            ).all():
                self.session.execute(
                    update(m.CaseLinkRow)
                    .where(m.CaseLinkRow.id == link_id)
                    .values(prior=erase_details(prior, pattern))
                )
            result = self.session.execute(
                update(m.CsatSurveyRow)
                .where(m.CsatSurveyRow.case_id.in_(chunk), m.CsatSurveyRow.comment != "")
                .values(comment=ERASED_TEXT)
            )
            counts.add("survey_comments", int(getattr(result, "rowcount", 0) or 0))
            for tid, signals, moments in self.session.execute(
                select(
                    m.CaseTriageRow.case_id, m.CaseTriageRow.risk_signals, m.CaseTriageRow.moments
                ).where(m.CaseTriageRow.case_id.in_(chunk))
            ).all():
                self.session.execute(
                    update(m.CaseTriageRow)
                    .where(m.CaseTriageRow.case_id == tid)
                    .values(
                        risk_signals=scrub_value(signals, pattern),
                        moments=scrub_value(moments, pattern),
                    )
                )
            self._scrub_grants(m.GrantRow.case_id.in_(chunk), pattern)
            counts.add(
                "audit_events", self._erase_audit(m.AuditEventRow.case_id.in_(chunk), pattern)
            )
        counts.add(
            "webhook_deliveries",
            self._erase_deliveries(lambda p: p.get("case_id") in case_set, pattern),
        )
        return counts

    def _erase_mail(self, mail_ids: Sequence[int], now: datetime) -> ErasureCounts:
        counts = ErasureCounts()
        for chunk in _chunks(list(mail_ids)):
            rows = self.session.execute(
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
                self.session.execute(
                    update(m.MailMessageRow).where(m.MailMessageRow.id == row.id).values(**values)
                )
            counts.add("mail", len(rows))
            # The outbox's copy of the mail (development desks) names the same blob.
            self.session.execute(delete(m.OutboxMailRow).where(m.OutboxMailRow.mail_id.in_(chunk)))
            counts.add("raw_mail", self._drop_blobs(raw))
            result = self.session.execute(
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
            counts.add("jobs_cancelled", int(getattr(result, "rowcount", 0) or 0))
        return counts

    def _drop_attachments(self, where: Any) -> int:
        """Attachments of these messages: the list emptied, the contents removed."""
        dropped = 0
        digests: set[str] = set()
        for mid, attachments in self.session.execute(
            select(m.MessageRow.id, m.MessageRow.attachments).where(where)
        ).all():
            if not attachments:
                continue
            digests.update(a["sha256"] for a in attachments if a.get("sha256"))
            dropped += len(attachments)
            self.session.execute(
                update(m.MessageRow).where(m.MessageRow.id == mid).values(attachments=[])
            )
        self._drop_blobs(digests)
        return dropped

    def _drop_blobs(self, digests: Iterable[str | None]) -> int:
        """Delete these contents unless another record still refers to them (the same file
        sent by two people is stored once)."""
        dropped = 0
        for digest in {d for d in digests if d}:
            if self._blob_in_use(digest):
                continue
            result = self.session.execute(delete(m.BlobRow).where(m.BlobRow.sha256 == digest))
            dropped += int(getattr(result, "rowcount", 0) or 0)
        return dropped

    def _blob_in_use(self, digest: str) -> bool:
        self.session.flush()
        checks = [
            select(m.MailMessageRow.id).where(m.MailMessageRow.raw_sha256 == digest).limit(1),
            select(m.MailFailureRow.id).where(m.MailFailureRow.raw_sha256 == digest).limit(1),
            select(m.MessageRow.id)
            .where(cast(m.MessageRow.attachments, Text).like(f"%{digest}%"))
            .limit(1),
        ]
        return any(self.session.scalar(check) is not None for check in checks)

    def _erase_audit(self, where: Any, pattern: re.Pattern[str] | None) -> int:
        """Audit facts (who, what, when, on which record) stay; the details lose the text."""
        changed = 0
        for aid, before, after in self.session.execute(
            select(m.AuditEventRow.id, m.AuditEventRow.before, m.AuditEventRow.after).where(where)
        ).all():
            new_before = erase_details(before, pattern) if before is not None else None
            new_after = erase_details(after, pattern) if after is not None else None
            if (new_before, new_after) != (before, after):
                self.session.execute(
                    update(m.AuditEventRow)
                    .where(m.AuditEventRow.id == aid)
                    .values(before=new_before, after=new_after)
                )
                changed += 1
        return changed

    def _erase_deliveries(self, concerns: Any, pattern: re.Pattern[str] | None) -> int:
        changed = 0
        rows = self.session.execute(
            select(m.WebhookDeliveryRow.id, m.WebhookDeliveryRow.payload)
        ).all()
        for did, payload in rows:
            if not isinstance(payload, dict) or not concerns(payload):
                continue
            erased = {
                **payload,
                "before": erase_details(payload.get("before"), pattern),
                "after": erase_details(payload.get("after"), pattern),
            }
            if erased != payload:
                self.session.execute(
                    update(m.WebhookDeliveryRow)
                    .where(m.WebhookDeliveryRow.id == did)
                    .values(payload=erased)
                )
                changed += 1
        return changed

    def _erase_findings(self, customer_id: str, pattern: re.Pattern[str] | None) -> int:
        rows = self.session.execute(
            select(
                m.ProactiveFindingRow.id,
                m.ProactiveFindingRow.facts,
                m.ProactiveFindingRow.recommendation,
            ).where(m.ProactiveFindingRow.customer_id == customer_id)
        ).all()
        for fid, facts, recommendation in rows:
            self.session.execute(
                update(m.ProactiveFindingRow)
                .where(m.ProactiveFindingRow.id == fid)
                .values(
                    facts=erase_details(facts, pattern),
                    recommendation=erase_details(recommendation, pattern),
                )
            )
        return len(rows)

    def _erase_answers(self, person: PersonalData, pattern: re.Pattern[str] | None) -> int:
        """Stored answers to repeated requests (idempotency keys) that quote the person or
        name their record: erased like audit details, so a retry still gets its answer
        (and is not run twice) but no longer their data."""
        wanted = [f'"{person.customer_id}"'.lower().encode()] + [
            f.lower().encode() for n in person.identifiers() for f in _json_forms(n)
        ]
        changed = 0
        for kid, body in self.session.execute(
            select(m.IdempotencyKeyRow.id, m.IdempotencyKeyRow.response_body).where(
                m.IdempotencyKeyRow.response_body.is_not(None)
            )
        ).all():
            if body is None:
                continue
            lowered = bytes(body).lower()
            if not any(w in lowered for w in wanted):
                continue
            try:
                erased: bytes | None = json.dumps(
                    erase_details(json.loads(body), pattern), separators=(",", ":")
                ).encode()
            except ValueError:
                erased = None
            if erased is None:
                self.session.execute(
                    delete(m.IdempotencyKeyRow).where(m.IdempotencyKeyRow.id == kid)
                )
            else:
                self.session.execute(
                    update(m.IdempotencyKeyRow)
                    .where(m.IdempotencyKeyRow.id == kid)
                    .values(response_body=erased)
                )
            changed += 1
        return changed

    def _sweep(self, needles: Sequence[str]) -> int:
        """Every text and JSON column of every table, searched for the identifiers."""
        pattern = needle_pattern(needles)
        if pattern is None:
            return 0
        forms = [f for n in needles for f in _json_forms(n)]
        changed = 0
        self.session.flush()
        for table in m.Base.metadata.sorted_tables:
            if table.name in SWEEP_SKIP:
                continue
            columns = [c for c in table.columns if _searchable(c) and not c.primary_key]
            keys = list(table.primary_key.columns)
            if not columns or not keys:
                continue
            matches = or_(
                *(
                    func.lower(cast(c, Text) if isinstance(c.type, JSON) else c).like(
                        _like(f), escape="\\"
                    )
                    for c in columns
                    for f in forms
                )
            )
            for row in self.session.execute(select(*keys, *columns).where(matches)).mappings():
                values: dict[str, Any] = {}
                for column in columns:
                    value = row[column]
                    scrubbed = scrub_value(value, pattern)
                    if scrubbed != value:
                        values[column.name] = scrubbed
                if values:
                    self.session.execute(
                        update(table).where(*(k == row[k] for k in keys)).values(**values)
                    )
                    changed += 1
        return changed

    def _optimise_fts(self) -> None:
        """SQLite's FTS5 keeps a removed text's words in its index segments until they are
        merged: merge them now, so the words are gone from the file too."""
        if self.session.get_bind().dialect.name != "sqlite":
            return
        for name in SQLITE_FTS:
            # The names are this module's constants, never input.
            self.session.execute(text(f"INSERT INTO {name}({name}) VALUES ('optimize')"))  # noqa: S608

    # --- retention -------------------------------------------------------------------

    def _closed_cases(self, before: datetime) -> list[int]:
        ended = func.coalesce(m.CaseRow.closed_at, m.CaseRow.solved_at)
        return list(
            self.session.scalars(
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

    def _old_raw_mail(self, before: datetime) -> tuple[list[int], list[int]]:
        mail = list(
            self.session.scalars(
                select(m.MailMessageRow.id).where(
                    m.MailMessageRow.raw_sha256.is_not(None),
                    m.MailMessageRow.created_at < before,
                    # Outbound mail still waiting to go needs its rendered source.
                    m.MailMessageRow.status != MailStatus.QUEUED.value,
                )
            )
        )
        failures = list(
            self.session.scalars(
                select(m.MailFailureRow.id).where(m.MailFailureRow.received_at < before)
            )
        )
        return mail, failures

    def _old_attachments(self, before: datetime) -> list[int]:
        return list(
            self.session.scalars(
                select(m.MessageRow.id).where(
                    m.MessageRow.created_at < before,
                    cast(m.MessageRow.attachments, Text) != "[]",
                )
            )
        )

    def retention_counts(self, cutoffs: RetentionCutoffs) -> ErasureCounts:
        counts = ErasureCounts()
        if cutoffs.closed_cases is not None:
            counts.add("cases", len(self._closed_cases(cutoffs.closed_cases)))
        if cutoffs.raw_mail is not None:
            mail, failures = self._old_raw_mail(cutoffs.raw_mail)
            counts.add("raw_mail", len(mail))
            counts.add("mail_failures", len(failures))
        if cutoffs.attachments is not None:
            for _, attachments in self.session.execute(
                select(m.MessageRow.id, m.MessageRow.attachments).where(
                    m.MessageRow.id.in_(self._old_attachments(cutoffs.attachments))
                )
            ).all():
                counts.add("attachments", len(attachments or []))
        return counts

    def apply_retention(self, cutoffs: RetentionCutoffs, now: datetime) -> ErasureCounts:
        counts = ErasureCounts()
        if cutoffs.closed_cases is not None:
            case_ids = self._closed_cases(cutoffs.closed_cases)
            erased = self._erase_cases(case_ids, None, now)
            counts.add("cases", erased.counts.get("cases", 0))
            # Its raw mail and attachments go with the case; counted under their own kinds.
            for kind in ("raw_mail", "attachments"):
                counts.add(kind, erased.counts.get(kind, 0))
        if cutoffs.raw_mail is not None:
            mail, failures = self._old_raw_mail(cutoffs.raw_mail)
            digests: set[str | None] = set()
            for chunk in _chunks(mail):
                digests.update(
                    self.session.scalars(
                        select(m.MailMessageRow.raw_sha256).where(m.MailMessageRow.id.in_(chunk))
                    )
                )
                self.session.execute(
                    update(m.MailMessageRow)
                    .where(m.MailMessageRow.id.in_(chunk))
                    .values(raw_sha256=None)
                )
            for chunk in _chunks(failures):
                digests.update(
                    self.session.scalars(
                        select(m.MailFailureRow.raw_sha256).where(m.MailFailureRow.id.in_(chunk))
                    )
                )
                self.session.execute(delete(m.MailFailureRow).where(m.MailFailureRow.id.in_(chunk)))
            self._drop_blobs(digests)
            counts.add("raw_mail", len(mail))
            counts.add("mail_failures", len(failures))
        if cutoffs.attachments is not None:
            old = self._old_attachments(cutoffs.attachments)
            for chunk in _chunks(old):
                counts.add("attachments", self._drop_attachments(m.MessageRow.id.in_(chunk)))
        if counts.total:
            self._optimise_fts()
        return counts


def _searchable(column: Column[Any]) -> bool:
    return isinstance(column.type, String | Text | JSON) and not isinstance(
        column.type, LargeBinary
    )


class SqlStorageCompactor:
    """Frees the old copies of erased rows that the database files still hold."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def compact(self) -> None:
        if self.engine.dialect.name == "sqlite":
            # On the driver's connection, outside any transaction (the engine would begin
            # one, and a checkpoint cannot run inside it). TRUNCATE copies the log into
            # the database, whose freed pages secure_delete zeroed, and empties the log.
            raw = self.engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                busy = cursor.fetchone()
                cursor.close()
            finally:
                raw.close()
            if busy is not None and busy[0]:
                # A reader held the log: the next checkpoint (SQLite runs them itself)
                # copies it; an operator can run one with the desk stopped.
                log.warning("the write-ahead log could not be truncated: a reader held it")
            return
        if self.engine.dialect.name == "postgresql":
            names = [t for t in ERASURE_TABLES if t in m.Base.metadata.tables]
            # VACUUM cannot run in a transaction block: a connection of its own, autocommit.
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f"VACUUM {', '.join(names)}")
