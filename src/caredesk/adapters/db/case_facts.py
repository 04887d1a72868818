"""Each case's facts for the reports (`case_facts`), kept current by the unit of work that
changes the case.

The repositories that write a case, its messages or its SLA clocks name the case here
(`touch`); when the unit of work commits, after its handlers and its audit lines, the facts of
every case it named are worked out again from what is stored (one statement for all of them)
and written where they changed (one more). Working them out from the stored rows, rather
than from the events that passed, keeps them right whatever the door: a reply, a reopening
recorded by the trail, an import filing history with its own times, a policy that moves a
case to another calendar.

A desk migrated from before the table, or rows loaded around the unit of work, get theirs
from `fill` (run after every migration, for the cases that have none, and by
`caredesk reports refresh` for all).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, case, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.adapters.db.types import aware_utc
from caredesk.domain.calendars import Clockwork, working_between
from caredesk.domain.cases import CaseStatus, MessageKind

# An SLA policy's business calendar: its id and its working time, or None (no such policy, or
# one without a calendar). Read from the process's configuration cache, not the tables.
Calendars = Callable[[int], tuple[int, Clockwork] | None]

_TOUCHED = "caredesk_touched_cases"
_FACTS = m.CaseFactsRow.__table__
assert isinstance(_FACTS, Table)
# A solved case that goes back to one of these was reopened.
REOPENED_TO = [CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.PENDING, CaseStatus.ON_HOLD]
# The cases worked out per statement when many are (a fill, a large transaction).
BATCH = 1000
# The case's own columns the reports group and filter by, copied so that a report reads this
# table alone: a million cases' wide rows (subject, custom fields) cost more to read than
# their facts, and the two tables joined more again.
CASE_COLUMNS = (
    "created_at",
    "solved_at",
    "status",
    "priority",
    "channel",
    "team_id",
    "assignee_id",
    "service_level",
)
COLUMNS = (
    *CASE_COLUMNS,
    "first_reply_at",
    "agent_replies",
    "wrote_again",
    "reopened",
    "calendar_id",
    "first_reply_business_seconds",
    "resolution_business_seconds",
)


def touch(session: OrmSession, case_ids: Iterable[int | None]) -> None:
    """These cases changed in the session's transaction: their facts follow at commit."""
    session.info.setdefault(_TOUCHED, set()).update(i for i in case_ids if i is not None)


def forget(session: OrmSession) -> None:
    """The transaction rolled back: what it touched is as it was."""
    session.info.pop(_TOUCHED, None)


def refresh_touched(session: OrmSession, calendars: Calendars) -> int:
    """The facts of every case the transaction touched; returns how many changed."""
    touched = session.info.pop(_TOUCHED, None)
    if not touched:
        return 0
    session.flush()
    ordered = sorted(touched)
    return sum(
        refresh(session, ordered[i : i + BATCH], calendars) for i in range(0, len(ordered), BATCH)
    )


def _worked_out() -> Any:
    """Each case's facts from its stored rows, beside what `case_facts` holds for it now, for
    the ids bound to `case_ids`."""
    case_, msg, audit, clock = m.CaseRow, m.MessageRow, m.AuditEventRow, m.SlaClockRow
    outbound = and_(msg.case_id == case_.id, msg.kind == MessageKind.OUTBOUND.value)
    # Correlated to the case explicitly: inside the EXISTS below, SQLAlchemy would
    # otherwise give it a FROM cases of its own, the earliest reply of every case.
    first_reply = select(func.min(msg.created_at)).where(outbound).correlate(case_)
    first_reply_at = first_reply.scalar_subquery()
    replies = select(func.count()).where(outbound).correlate(case_).scalar_subquery()
    later = m.MessageRow.__table__.alias("later")
    wrote_again = exists().where(
        later.c.case_id == case_.id,
        later.c.kind == MessageKind.INBOUND.value,
        later.c.created_at > first_reply_at,
    )
    reopened = exists().where(
        audit.case_id == case_.id,
        audit.before["status"].as_string() == CaseStatus.SOLVED.value,
        audit.after["status"].as_string().in_([s.value for s in REOPENED_TO]),
    )
    # The policy of the case's first clock; its calendar comes from the cached policies.
    policy = (
        select(clock.policy_id)
        .where(clock.case_id == case_.id)
        .order_by(clock.id)
        .limit(1)
        .scalar_subquery()
    )
    kept = m.CaseFactsRow
    return (
        select(
            case_.id,
            *(getattr(case_, name) for name in CASE_COLUMNS),
            first_reply_at,
            replies,
            case((wrote_again, True), else_=False),
            case((reopened, True), else_=False),
            policy,
            kept.case_id,
            *(getattr(kept, name) for name in COLUMNS),
        )
        .outerjoin(kept, kept.case_id == case_.id)
        .where(case_.id.in_(bindparam("case_ids", expanding=True)))
    )


def _upsert(dialect: Any) -> Any:
    statement = dialect.insert(_FACTS)
    return statement.on_conflict_do_update(
        index_elements=[_FACTS.c.case_id],
        set_={name: statement.excluded[name] for name in COLUMNS},
    )


# Built once: every writing transaction sends them, and a statement built anew each time cost
# its construction and its cache key (SQLAlchemy keeps both on the statement it is handed).
_WORKED_OUT = _worked_out()
_UPSERT = {"postgresql": _upsert(postgresql), "sqlite": _upsert(sqlite)}


def _business_seconds(clockwork: Clockwork | None, start: datetime, end: datetime | None) -> Any:
    if clockwork is None or end is None:
        return None
    if end <= start:
        return 0.0
    return round(working_between(clockwork, start, end).total_seconds(), 3)


_WORKED = 1 + len(CASE_COLUMNS) + 5  # the case id, its columns, then what is worked out


def _facts(row: Any, calendars: Calendars) -> dict[str, Any]:
    own = dict(zip(CASE_COLUMNS, row[1 : 1 + len(CASE_COLUMNS)], strict=True))
    first_reply, replies, wrote_again, reopened, policy_id = row[1 + len(CASE_COLUMNS) : _WORKED]
    created, solved = aware_utc(own["created_at"]), aware_utc(own["solved_at"])
    first_reply = aware_utc(first_reply)
    assert created is not None
    calendar = calendars(policy_id) if policy_id is not None else None
    calendar_id, clockwork = calendar if calendar is not None else (None, None)
    return {
        "case_id": int(row[0]),
        **own,
        "created_at": created,
        "solved_at": solved,
        "first_reply_at": first_reply,
        "agent_replies": int(replies),
        "wrote_again": bool(wrote_again),
        "reopened": bool(reopened),
        "calendar_id": calendar_id,
        "first_reply_business_seconds": _business_seconds(clockwork, created, first_reply),
        "resolution_business_seconds": _business_seconds(clockwork, created, solved),
    }


def _kept(row: Any) -> dict[str, Any] | None:
    if row[_WORKED] is None:
        return None
    values = dict(zip(COLUMNS, row[_WORKED + 1 :], strict=True))
    for moment in ("created_at", "solved_at", "first_reply_at"):
        values[moment] = aware_utc(values[moment])
    for flag in ("wrote_again", "reopened"):
        values[flag] = bool(values[flag])
    return {"case_id": int(row[_WORKED]), **values}


def refresh(session: OrmSession, case_ids: Collection[int], calendars: Calendars) -> int:
    """Work these cases' facts out again and write those that changed; returns how many."""
    changed = []
    for row in session.execute(_WORKED_OUT, {"case_ids": list(case_ids)}):
        facts = _facts(row, calendars)
        if facts != _kept(row):
            changed.append(facts)
    if changed:
        session.execute(_UPSERT[session.get_bind().dialect.name], changed)
    return len(changed)


def _case_ids(session: OrmSession, only_missing: bool) -> Iterator[list[int]]:
    """Case ids in batches, by key, never the whole table at once."""
    after = 0
    while True:
        stmt = select(m.CaseRow.id).where(m.CaseRow.id > after).order_by(m.CaseRow.id)
        if only_missing:
            stmt = stmt.where(~exists().where(m.CaseFactsRow.case_id == m.CaseRow.id))
        ids = list(session.scalars(stmt.limit(BATCH)))
        if not ids:
            return
        yield ids
        after = ids[-1]


def fill(
    session: OrmSession,
    calendars: Calendars,
    *,
    only_missing: bool,
    done: Callable[[int], None] | None = None,
) -> int:
    """Work out the facts of every case (or of those without), a batch per statement and
    the caller's transaction; `done` hears how many cases each batch covered. Returns how
    many cases' facts changed."""
    changed = 0
    for ids in _case_ids(session, only_missing):
        changed += refresh(session, ids, calendars)
        if done is not None:
            done(len(ids))
    return changed
