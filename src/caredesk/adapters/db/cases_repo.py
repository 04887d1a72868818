"""The case repository: cases, their messages, and the lists of cases."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import BigInteger, ColumnElement, and_, func, literal, or_, select, tuple_, union
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import joinedload

from caredesk.adapters.db import case_facts, mapping
from caredesk.adapters.db import models as m
from caredesk.adapters.db.case_filters import case_conditions
from caredesk.adapters.db.conflicts import version_conflict
from caredesk.adapters.db.cursors import cursor_int, cursor_time, decode_cursor, encode_cursor
from caredesk.adapters.db.notifications import LIVE_CHANNEL, notify_on_commit
from caredesk.adapters.db.search import case_text_common_lately, case_text_on_row
from caredesk.adapters.db.triage_repo import UNTRIAGED_CASES
from caredesk.domain.cases import Case, Message
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.core.ports import Page

# How many of the newest cases a full-text filter checks one by one before it gathers every
# match from the full-text indexes instead (SqlCaseRepository._text_in_newest). A case
# costs SQLite a lookup of each of its texts in the FTS5 tables (a tenth of a millisecond
# to one), PostgreSQL a read of their stored tsvectors (a few microseconds), and
# PostgreSQL's gathering has a floor of tens of milliseconds where SQLite's grows with the
# matches only.
NEWEST_WALKED = {"sqlite": 40, "postgresql": 1000}
_BEFORE_ANY_CASE = literal(datetime(1970, 1, 1, tzinfo=UTC), m.CaseRow.updated_at.type)


class SqlCaseRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session
        # The cases written in this unit of work, whose events it hands to the handlers.
        self.seen: list[Case] = []
        # The session holds rows weakly; the handlers of one transaction read the same case
        # again and again (triage, SLA, lifecycle), which loaded it and its tags each time.
        self._held: dict[int, m.CaseRow] = {}

    def _row(self, case_id: int | None, *, for_change: bool = False) -> m.CaseRow | None:
        if for_change:
            # The lock is taken on the row as it is now: the transaction may hold an earlier
            # read of it that another transaction has changed since. That read is let go, and
            # the locking read makes the row anew: expired instead, it was read twice (the ORM
            # loads an expired row's version to compare it with the one the lock read).
            earlier = self.session.identity_map.get(self.session.identity_key(m.CaseRow, case_id))
            if earlier is not None:
                if earlier in self.session.dirty:
                    self.session.expire(earlier)
                else:
                    self.session.expunge(earlier)
        # Its tags in the same statement; the lock is on the case's row only (FOR UPDATE OF
        # cases), as PostgreSQL refuses to lock the nullable side of an outer join.
        row = self.session.get(
            m.CaseRow,
            case_id,
            options=(joinedload(m.CaseRow.tags),),
            with_for_update={"of": m.CaseRow} if for_change else None,
        )
        if row is not None:
            self._held[row.id] = row
        return row

    def _seen(self, case: Case) -> None:
        if not any(known is case for known in self.seen):
            self.seen.append(case)

    def add(self, case: Case) -> None:
        self._seen(case)
        row = m.CaseRow(tags=[])
        mapping.case_onto_row(case, row)
        self.session.add(row)
        self.session.flush()
        # The handlers of the transaction that opens it read it next (triage, SLA).
        self._held[row.id] = row
        notify_on_commit(self.session, LIVE_CHANNEL)
        case_facts.touch(self.session, [row.id])
        case.id = row.id
        case.version = row.version

    def get(self, case_id: int) -> Case | None:
        row = self._row(case_id)
        return mapping.case_from_row(row) if row else None

    def many(self, case_ids: Collection[int]) -> list[Case]:
        if not case_ids:
            return []
        rows = self.session.scalars(
            select(m.CaseRow).where(m.CaseRow.id.in_(case_ids)).order_by(m.CaseRow.id)
        )
        return [mapping.case_from_row(r) for r in rows]

    def get_for_change(self, case_id: int) -> Case | None:
        # FOR UPDATE on PostgreSQL; SQLite renders none, its writer holds the whole database.
        row = self._row(case_id, for_change=True)
        return mapping.case_from_row(row) if row else None

    def save(self, case: Case) -> None:
        self._seen(case)
        row = self._row(case.id)
        assert row is not None
        if row.version != case.version:
            raise version_conflict("case", case.id, case.version, row.version)
        mapping.case_onto_row(case, row)
        self.session.flush()
        notify_on_commit(self.session, LIVE_CHANNEL)
        case_facts.touch(self.session, [case.id])
        case.version = row.version

    def find(self, filters: CaseFilter, limit: int, cursor: str | None) -> Page[Case]:
        dialect = self.session.get_bind().dialect.name
        after = self._after(cursor, dialect)
        rows = None
        if filters.text:
            rows = self._text_in_newest(filters, after, limit + 1)
        if rows is None:
            stmt = (
                select(m.CaseRow)
                .where(*case_conditions(filters, dialect), *after)
                .order_by(m.CaseRow.updated_at.desc(), m.CaseRow.id.desc())
                .limit(limit + 1)
            )
            rows = list(self.session.scalars(stmt))
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor(last.updated_at.isoformat(), last.id)
        return Page([mapping.case_from_row(r) for r in rows[:limit]], next_cursor)

    def count(self, filters: CaseFilter) -> int:
        dialect = self.session.get_bind().dialect.name
        stmt = select(func.count()).select_from(m.CaseRow)
        return int(self.session.scalar(stmt.where(*case_conditions(filters, dialect))) or 0)

    def with_customers_newest(self, case_id: int, limit: int) -> tuple[Case | None, list[Case]]:
        # The case page's first read: the case, its customer's newest cases and all their tags
        # in one statement, where they were four; with the case's triage, which the page's
        # suggestions look up next by its key (the session finds the row it holds).
        customer = select(m.CaseRow.customer_id).where(m.CaseRow.id == case_id)
        newest = (
            select(m.CaseRow.id)
            .where(m.CaseRow.customer_id == customer.scalar_subquery())
            .order_by(m.CaseRow.updated_at.desc(), m.CaseRow.id.desc())
            .limit(limit)
            .subquery()
        )
        # One list of ids, not `id = :case OR id IN (…)`: PostgreSQL answers such an OR with
        # a scan of every case (and of every tag to join them), SQLite with the index.
        wanted = union(select(literal(case_id, BigInteger)), select(newest.c.id))
        triage = and_(m.CaseTriageRow.case_id == m.CaseRow.id, m.CaseRow.id == case_id)
        found = list(
            self.session.execute(
                select(m.CaseRow, m.CaseTriageRow)
                .outerjoin(m.CaseTriageRow, triage)
                .where(m.CaseRow.id.in_(wanted))
                .options(joinedload(m.CaseRow.tags))
                .order_by(m.CaseRow.updated_at.desc(), m.CaseRow.id.desc())
            ).unique()
        )
        rows = [row for row, _ in found]
        if any(row.id == case_id and triaged is None for row, triaged in found):
            self.session.info.setdefault(UNTRIAGED_CASES, set()).add(case_id)
        for row in rows:
            self._held[row.id] = row
        case = next((mapping.case_from_row(r) for r in rows if r.id == case_id), None)
        if case is None:
            return None, []
        listed = [mapping.case_from_row(r) for r in rows if r.customer_id == case.customer_id]
        return case, listed[:limit]

    @staticmethod
    def _after(cursor: str | None, dialect: str) -> list[ColumnElement[bool]]:
        """The cases past the cursor, in list order (updated last first)."""
        if not cursor:
            return []
        after_updated, after_id = decode_cursor(cursor, 2)
        after_at = cursor_time(after_updated)
        after_key = cursor_int(after_id)
        if dialect != "sqlite":
            return [tuple_(m.CaseRow.updated_at, m.CaseRow.id) < tuple_(after_at, after_key)]
        return [
            # Implied by the next one, and a range SQLite walks the update index down from.
            m.CaseRow.updated_at <= after_at,
            or_(
                m.CaseRow.updated_at < after_at,
                and_(m.CaseRow.updated_at == after_at, m.CaseRow.id < after_key),
            ),
        ]

    def _text_in_newest(
        self, filters: CaseFilter, after: list[ColumnElement[bool]], wanted: int
    ) -> list[m.CaseRow] | None:
        """The first `wanted` cases of the list, if the newest cases that meet the other
        filters (NEWEST_WALKED) hold that many with the words; None when they do not.

        A common word is in most cases: the newest few fill the page, where gathering every
        case that has it from the full-text indexes, then sorting them, took hundreds of
        milliseconds at 100,000 cases. A rarer word falls back to that, cheap for it."""
        assert filters.text
        dialect = self.session.get_bind().dialect.name
        others = [*case_conditions(replace(filters, text=None), dialect), *after]
        order = (m.CaseRow.updated_at.desc(), m.CaseRow.id.desc())
        has_words = case_text_on_row(dialect, filters.text)
        newest = select(m.CaseRow.updated_at).where(*others).order_by(*order)
        if dialect == "sqlite":
            # SQLite walks ix_cases_updated down to the last case it may check, and stops
            # at the page's last case; given the newest cases as a subquery, it would check
            # every one of them, then sort. It walks only for a word common lately (the
            # condition holds for the whole statement, checked once).
            last_walked = (
                newest.offset(NEWEST_WALKED[dialect] - 1).limit(1).correlate(None)
            ).scalar_subquery()
            stmt = (
                select(m.CaseRow)
                .where(
                    *others,
                    # A bound on the index, so that the walk ends there. Fewer cases than
                    # that: every one of them.
                    m.CaseRow.updated_at >= func.coalesce(last_walked, _BEFORE_ANY_CASE),
                    case_text_common_lately(filters.text),
                    has_words,
                )
                .order_by(*order)
            )
        else:
            # PostgreSQL keeps the newest cases' order through the join and stops at the
            # page's last case; given only a time to stop at, it would plan for a third of
            # the cases and gather every message with the word first.
            walked = newest.add_columns(m.CaseRow.id).limit(NEWEST_WALKED[dialect]).subquery()
            stmt = (
                select(m.CaseRow)
                .join(walked, walked.c.id == m.CaseRow.id)
                .where(has_words)
                .order_by(walked.c.updated_at.desc(), walked.c.id.desc())
            )
        rows = list(self.session.scalars(stmt.limit(wanted)))
        return rows if len(rows) == wanted else None

    def add_message(self, message: Message) -> None:
        row = mapping.message_to_row(message)
        self.session.add(row)
        self.session.flush()
        case_facts.touch(self.session, [message.case_id])
        message.id = row.id

    def messages(self, case_id: int) -> list[Message]:
        rows = self.session.scalars(
            select(m.MessageRow).where(m.MessageRow.case_id == case_id).order_by(m.MessageRow.id)
        )
        return [mapping.message_from_row(r) for r in rows]
