"""SQL storage for the case lifecycle: handoffs, repeat asks, commitments, links, findings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import InstrumentedAttribute, Session

from caredesk.adapters.db import models as m
from caredesk.adapters.db.rows import add_row, first, from_row, got, listed, onto_row, save_row
from caredesk.domain.lifecycle import (
    CaseLink,
    Commitment,
    CommitmentStatus,
    FindingRecord,
    Handoff,
    LinkKind,
    RepeatAsk,
)
from caredesk.services.lifecycle.ports import CommitmentFilter, RepeatAskCount


class SqlLifecycleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        # The handoffs and links of the cases read with `handoffs_and_links`, by case, until
        # this repository writes either.
        self._history: dict[int, tuple[list[Handoff], list[CaseLink]]] = {}

    # Handoffs

    def add_handoff(self, handoff: Handoff) -> None:
        self._history.clear()
        add_row(self.session, handoff, m.CaseHandoffRow())

    def handoffs(self, case_id: int) -> list[Handoff]:
        if case_id in self._history:
            return list(self._history[case_id][0])
        return listed(self.session, Handoff, m.CaseHandoffRow, m.CaseHandoffRow.case_id == case_id)

    def handoffs_and_links(self, case_id: int) -> tuple[list[Handoff], list[CaseLink]]:
        # The case page shows both: one statement, each side's columns beside the other's
        # NULLs (typed, so that each column reads back as its own type).
        handoff = cast(Table, m.CaseHandoffRow.__table__)
        link = cast(Table, m.CaseLinkRow.__table__)

        def side(mine: Table, where: ColumnElement[bool]) -> Select[Any]:
            columns: list[Any] = [literal(mine is handoff).label("is_handoff")]
            for table, prefix in ((handoff, "h_"), (link, "l_")):
                columns += [
                    (c if table is mine else sql_cast(null(), c.type)).label(prefix + c.name)
                    for c in table.columns
                ]
            return select(*columns).where(where)

        rows = self.session.execute(
            union_all(
                side(handoff, handoff.c.case_id == case_id),
                side(link, or_(link.c.case_id == case_id, link.c.other_case_id == case_id)),
            ).order_by("is_handoff", "h_id", "l_id")
        )
        handoffs: list[Handoff] = []
        links: list[CaseLink] = []
        for row in rows.mappings():
            prefix = "h_" if row["is_handoff"] else "l_"
            values = SimpleNamespace(**{k[2:]: v for k, v in row.items() if k.startswith(prefix)})
            if row["is_handoff"]:
                handoffs.append(from_row(Handoff, values))
            else:
                links.append(from_row(CaseLink, values))
        self._history[case_id] = (handoffs, links)
        return list(handoffs), list(links)

    # Repeat asks

    def add_repeat_asks(self, asks: Sequence[RepeatAsk]) -> None:
        self.session.add_all(onto_row(a, m.RepeatAskRow(), skip=("id",)) for a in asks)
        self.session.flush()

    def repeat_asks(self, case_id: int) -> list[RepeatAsk]:
        return listed(self.session, RepeatAsk, m.RepeatAskRow, m.RepeatAskRow.case_id == case_id)

    def repeat_ask_counts(
        self, by: str, since: datetime | None, limit: int
    ) -> list[RepeatAskCount]:
        column = m.RepeatAskRow.case_id if by == "case" else m.RepeatAskRow.agent_id
        stmt = select(column, m.RepeatAskRow.kind, func.count()).group_by(
            column, m.RepeatAskRow.kind
        )
        if since is not None:
            stmt = stmt.where(m.RepeatAskRow.created_at >= since)
        grouped: dict[int | None, dict[str, int]] = {}
        for key, kind, count in self.session.execute(stmt):
            grouped.setdefault(key, {})[kind] = int(count)
        counts = [
            RepeatAskCount(key, sum(kinds.values()), dict(sorted(kinds.items())))
            for key, kinds in grouped.items()
        ]
        counts.sort(key=lambda c: (-c.total, c.key if c.key is not None else -1))
        return counts[:limit]

    # Commitments

    def add_commitment(self, commitment: Commitment) -> None:
        add_row(self.session, commitment, m.CommitmentRow())

    def get_commitment(self, commitment_id: int) -> Commitment | None:
        return got(self.session, Commitment, m.CommitmentRow, commitment_id)

    def save_commitment(self, commitment: Commitment) -> None:
        # Who made a commitment, and when, stays as it was first written.
        save_row(self.session, commitment, m.CommitmentRow, skip=("created_by", "created_at"))

    def commitments(self, filters: CommitmentFilter, limit: int) -> list[Commitment]:
        stmt = select(m.CommitmentRow)
        if filters.case_id is not None:
            stmt = stmt.where(m.CommitmentRow.case_id == filters.case_id)
        if filters.owner_agent_id is not None:
            stmt = stmt.where(m.CommitmentRow.owner_agent_id == filters.owner_agent_id)
        if filters.status is not None:
            stmt = stmt.where(m.CommitmentRow.status == filters.status.value)
        if filters.due_before is not None:
            stmt = stmt.where(m.CommitmentRow.due_at <= filters.due_before)
        stmt = stmt.order_by(m.CommitmentRow.due_at, m.CommitmentRow.id).limit(limit)
        return [from_row(Commitment, r) for r in self.session.scalars(stmt)]

    def missed_counts(self, by: str) -> dict[int | None, int]:
        column = m.CommitmentRow.case_id if by == "case" else m.CommitmentRow.owner_agent_id
        stmt = (
            select(column, func.count())
            .where(m.CommitmentRow.status == CommitmentStatus.MISSED.value)
            .group_by(column)
        )
        return {key: int(count) for key, count in self.session.execute(stmt)}

    # Links between cases

    def add_link(self, link: CaseLink) -> None:
        self._history.clear()
        add_row(self.session, link, m.CaseLinkRow())

    def get_link(self, link_id: int) -> CaseLink | None:
        return got(self.session, CaseLink, m.CaseLinkRow, link_id)

    def save_link(self, link: CaseLink) -> None:
        self._history.clear()
        row = self.session.get(m.CaseLinkRow, link.id)
        assert row is not None
        row.message_ids = list(link.message_ids)
        row.grant_ids = list(link.grant_ids)
        row.undone_by = link.undone_by
        row.undone_at = link.undone_at
        self.session.flush()

    def links(self, case_id: int) -> list[CaseLink]:
        if case_id in self._history:
            return list(self._history[case_id][1])
        link = m.CaseLinkRow
        either = or_(link.case_id == case_id, link.other_case_id == case_id)
        return listed(self.session, CaseLink, link, either)

    def merged_into(self, case_ids: Sequence[int]) -> dict[int, int]:
        if not case_ids:
            return {}
        rows = self.session.execute(
            select(m.CaseLinkRow.case_id, m.CaseLinkRow.other_case_id).where(
                m.CaseLinkRow.kind == LinkKind.MERGED_INTO.value,
                m.CaseLinkRow.undone_at.is_(None),
                m.CaseLinkRow.case_id.in_(list(case_ids)),
            )
        )
        return {int(row[0]): int(row[1]) for row in rows}

    def move_messages(self, message_ids: Sequence[int], to_case_id: int) -> None:
        if message_ids:
            self._move(m.MessageRow.id, message_ids, to_case_id)

    def move_grants(self, grant_ids: Sequence[int], to_case_id: int) -> None:
        if grant_ids:
            self._move(m.GrantRow.id, grant_ids, to_case_id)
            self._move(m.ApprovalRow.grant_id, grant_ids, to_case_id)

    def _move(self, key: InstrumentedAttribute[int], ids: Sequence[int], to_case_id: int) -> None:
        """The rows of `key`'s table whose `key` is one of `ids` now belong to the case."""
        self.session.execute(
            update(key.class_).where(key.in_(list(ids))).values(case_id=to_case_id)
        )

    def grant_ids(self, case_id: int) -> list[int]:
        return list(
            self.session.scalars(
                select(m.GrantRow.id).where(m.GrantRow.case_id == case_id).order_by(m.GrantRow.id)
            )
        )

    # Proactive findings

    def finding(self, key: str) -> FindingRecord | None:
        row = m.ProactiveFindingRow
        return first(self.session, FindingRecord, row, row.key == key)

    def add_finding(self, finding: FindingRecord) -> None:
        add_row(self.session, finding, m.ProactiveFindingRow())

    def save_finding(self, finding: FindingRecord) -> None:
        row = self.session.get(m.ProactiveFindingRow, finding.id)
        assert row is not None
        row.case_id = finding.case_id
        row.recommendation = finding.recommendation
        self.session.flush()

    def findings(self, limit: int) -> list[FindingRecord]:
        rows = self.session.scalars(
            select(m.ProactiveFindingRow).order_by(m.ProactiveFindingRow.id.desc()).limit(limit)
        )
        return [from_row(FindingRecord, r) for r in rows]
