"""Erasure in the database (retention reuses its parts): every table that holds personal data.

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
- case_handoffs, commitments, case_links.prior, satisfaction_surveys.comment: text about the case.
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
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    LargeBinary,
    String,
    Text,
    cast,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.adapters.db import retention_repo
from caredesk.adapters.db.config_cache import KIND_OF_TABLE, ConfigKind, ConfigReads
from caredesk.adapters.db.erasure_records import (
    chunks,
    drop_blobs,
    erase_audit,
    erase_cases,
    erase_deliveries,
    erase_mail,
    rewrite_each,
    rowcount,
    scrub_grants,
)
from caredesk.adapters.db.erasure_storage import optimise_fts
from caredesk.adapters.db.search import escape_like
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
from caredesk.domain.portal import email_key

# Tables the sweep for the person's identifiers leaves alone: secrets, hashes and random
# stamps, where a name cannot be, and the blobs, which are removed by reference instead.
SWEEP_SKIP = frozenset({"blobs", "sessions", "auth_throttles", "intent_models", "config_stamps"})
GRANT_ENTITIES = ("grant", "approval")


def _like(needle: str) -> str:
    return f"%{escape_like(needle.lower())}%"


def _json_forms(needle: str) -> list[str]:
    """The needle as it appears in stored JSON text too (non-ASCII is escaped there)."""
    encoded = json.dumps(needle)[1:-1]
    return [needle] if encoded == needle else [needle, encoded]


class SqlErasureStore:
    def __init__(self, session: OrmSession, config: ConfigReads) -> None:
        self.session = session
        # Erasing writes past the repositories: what it changes of a kind each process keeps
        # (a token it revokes, a name in a known issue) moves that kind's stamp.
        self.config = config

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
        counts.merge(erase_cases(self.session, case_ids, owned, now))
        counts.merge(self._erase_person_mail(person, now))
        counts.add("orders", self._erase_orders(cid, owned))
        counts.merge(self._erase_money_texts(grant_ids, owned))
        counts.merge(self._end_access(person, now))
        counts.add(
            "audit_events",
            erase_audit(
                self.session,
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
            erase_deliveries(
                self.session,
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
        optimise_fts(self.session)
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
        return rewrite_each(
            self.session,
            m.OrderRow.id,
            (m.OrderRow.address, m.OrderRow.details),
            m.OrderRow.customer_id == customer_id,
            lambda address, details: {
                "address": erased_address(address or {}),
                "details": scrub_value(details or {}, pattern),
                "version": m.OrderRow.version + 1,
            },
            synchronize_session=False,
        )

    def _erase_money_texts(
        self, grant_ids: Sequence[int], pattern: re.Pattern[str] | None
    ) -> ErasureCounts:
        """The words beside the money; amounts, accounts and dates are the books."""
        counts = ErasureCounts()
        for chunk in chunks(list(grant_ids)):
            counts.add("grants", scrub_grants(self.session, m.GrantRow.id.in_(chunk), pattern))
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
        counts.add("portal_sign_ins", rowcount(result))
        result = self.session.execute(
            delete(m.PortalSessionRow).where(m.PortalSessionRow.customer_id == cid)
        )
        counts.add("portal_sessions", rowcount(result))
        result = self.session.execute(
            update(m.ApiTokenRow)
            .where(m.ApiTokenRow.customer_id == cid, m.ApiTokenRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        counts.add("tokens_revoked", rowcount(result))
        if rowcount(result):
            self.config.changed(ConfigKind.TOKENS)
        result = self.session.execute(
            update(m.SatisfactionSurveyRow)
            .where(
                m.SatisfactionSurveyRow.customer_id == cid, m.SatisfactionSurveyRow.comment != ""
            )
            .values(comment=ERASED_TEXT)
        )
        counts.add("survey_comments", rowcount(result))
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
        counts.merge(erase_mail(self.session, mail_ids, now))
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
            counts.add("blobs", drop_blobs(self.session, {f[1] for f in failures}))
        return counts

    def _erase_findings(self, customer_id: str, pattern: re.Pattern[str] | None) -> int:
        finding = m.ProactiveFindingRow
        return rewrite_each(
            self.session,
            finding.id,
            (finding.facts, finding.recommendation),
            finding.customer_id == customer_id,
            lambda facts, recommendation: {
                "facts": erase_details(facts, pattern),
                "recommendation": erase_details(recommendation, pattern),
            },
        )

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
                    if table.name in KIND_OF_TABLE:
                        self.config.changed(KIND_OF_TABLE[table.name])
        return changed

    # --- retention -------------------------------------------------------------------

    def retention_counts(self, cutoffs: RetentionCutoffs) -> ErasureCounts:
        return retention_repo.retention_counts(self.session, cutoffs)

    def apply_retention(self, cutoffs: RetentionCutoffs, now: datetime) -> ErasureCounts:
        return retention_repo.apply_retention(self.session, cutoffs, now)


def _searchable(column: Column[Any]) -> bool:
    return isinstance(column.type, String | Text | JSON) and not isinstance(
        column.type, LargeBinary
    )
