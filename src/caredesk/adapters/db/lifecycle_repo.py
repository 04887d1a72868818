"""SQL storage for the case lifecycle: handoffs, repeat asks, commitments, links, findings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from caredesk.adapters.db import models as m
from caredesk.domain.lifecycle import (
    AskKind,
    CaseLink,
    Commitment,
    CommitmentKind,
    CommitmentStatus,
    FindingKind,
    FindingRecord,
    Handoff,
    LinkKind,
    RepeatAsk,
)
from caredesk.services.lifecycle.ports import CommitmentFilter, RepeatAskCount


def _handoff(row: m.CaseHandoffRow) -> Handoff:
    return Handoff(
        id=row.id,
        case_id=row.case_id,
        summary=row.summary,
        open_question=row.open_question,
        facts=dict(row.facts),
        drafted=row.drafted,
        created_by=row.created_by,
        created_at=row.created_at,
        from_agent_id=row.from_agent_id,
        to_team_id=row.to_team_id,
        to_agent_id=row.to_agent_id,
    )


def _commitment(row: m.CommitmentRow) -> Commitment:
    return Commitment(
        id=row.id,
        case_id=row.case_id,
        kind=CommitmentKind(row.kind),
        description=row.description,
        due_at=row.due_at,
        owner_agent_id=row.owner_agent_id,
        created_at=row.created_at,
        created_by=row.created_by,
        status=CommitmentStatus(row.status),
        source=row.source,
        message_id=row.message_id,
        alerted_at=row.alerted_at,
        resolved_at=row.resolved_at,
    )


def _link(row: m.CaseLinkRow) -> CaseLink:
    return CaseLink(
        id=row.id,
        kind=LinkKind(row.kind),
        case_id=row.case_id,
        other_case_id=row.other_case_id,
        created_at=row.created_at,
        created_by=row.created_by,
        message_ids=list(row.message_ids),
        grant_ids=list(row.grant_ids),
        prior=dict(row.prior),
        undone_at=row.undone_at,
        undone_by=row.undone_by,
    )


def _finding(row: m.ProactiveFindingRow) -> FindingRecord:
    return FindingRecord(
        id=row.id,
        key=row.key,
        kind=FindingKind(row.kind),
        customer_id=row.customer_id,
        order_id=row.order_id,
        case_id=row.case_id,
        facts=dict(row.facts),
        created_at=row.created_at,
        recommendation=dict(row.recommendation) if row.recommendation is not None else None,
    )


class SqlLifecycleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # Handoffs

    def add_handoff(self, handoff: Handoff) -> None:
        row = m.CaseHandoffRow(
            case_id=handoff.case_id,
            from_agent_id=handoff.from_agent_id,
            to_team_id=handoff.to_team_id,
            to_agent_id=handoff.to_agent_id,
            summary=handoff.summary,
            drafted=handoff.drafted,
            open_question=handoff.open_question,
            facts=handoff.facts,
            created_by=handoff.created_by,
            created_at=handoff.created_at,
        )
        self.session.add(row)
        self.session.flush()
        handoff.id = row.id

    def handoffs(self, case_id: int) -> list[Handoff]:
        rows = self.session.scalars(
            select(m.CaseHandoffRow)
            .where(m.CaseHandoffRow.case_id == case_id)
            .order_by(m.CaseHandoffRow.id)
        )
        return [_handoff(r) for r in rows]

    # Repeat asks

    def add_repeat_asks(self, asks: Sequence[RepeatAsk]) -> None:
        self.session.add_all(
            m.RepeatAskRow(
                case_id=a.case_id,
                message_id=a.message_id,
                agent_id=a.agent_id,
                kind=a.kind.value,
                created_at=a.created_at,
            )
            for a in asks
        )
        self.session.flush()

    def repeat_asks(self, case_id: int) -> list[RepeatAsk]:
        rows = self.session.scalars(
            select(m.RepeatAskRow)
            .where(m.RepeatAskRow.case_id == case_id)
            .order_by(m.RepeatAskRow.id)
        )
        return [
            RepeatAsk(r.id, r.case_id, r.message_id, r.agent_id, AskKind(r.kind), r.created_at)
            for r in rows
        ]

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
        row = m.CommitmentRow(created_by=commitment.created_by, created_at=commitment.created_at)
        self._fill_commitment(row, commitment)
        self.session.add(row)
        self.session.flush()
        commitment.id = row.id

    def _fill_commitment(self, row: m.CommitmentRow, commitment: Commitment) -> None:
        row.case_id = commitment.case_id
        row.kind = commitment.kind.value
        row.description = commitment.description
        row.due_at = commitment.due_at
        row.owner_agent_id = commitment.owner_agent_id
        row.status = commitment.status.value
        row.source = commitment.source
        row.message_id = commitment.message_id
        row.alerted_at = commitment.alerted_at
        row.resolved_at = commitment.resolved_at

    def get_commitment(self, commitment_id: int) -> Commitment | None:
        row = self.session.get(m.CommitmentRow, commitment_id)
        return _commitment(row) if row is not None else None

    def save_commitment(self, commitment: Commitment) -> None:
        row = self.session.get(m.CommitmentRow, commitment.id)
        assert row is not None
        self._fill_commitment(row, commitment)
        self.session.flush()

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
        return [_commitment(r) for r in self.session.scalars(stmt)]

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
        row = m.CaseLinkRow(
            kind=link.kind.value,
            case_id=link.case_id,
            other_case_id=link.other_case_id,
            message_ids=list(link.message_ids),
            grant_ids=list(link.grant_ids),
            prior=dict(link.prior),
            created_by=link.created_by,
            created_at=link.created_at,
            undone_by=link.undone_by,
            undone_at=link.undone_at,
        )
        self.session.add(row)
        self.session.flush()
        link.id = row.id

    def get_link(self, link_id: int) -> CaseLink | None:
        row = self.session.get(m.CaseLinkRow, link_id)
        return _link(row) if row is not None else None

    def save_link(self, link: CaseLink) -> None:
        row = self.session.get(m.CaseLinkRow, link.id)
        assert row is not None
        row.message_ids = list(link.message_ids)
        row.grant_ids = list(link.grant_ids)
        row.undone_by = link.undone_by
        row.undone_at = link.undone_at
        self.session.flush()

    def links(self, case_id: int) -> list[CaseLink]:
        rows = self.session.scalars(
            select(m.CaseLinkRow)
            .where(or_(m.CaseLinkRow.case_id == case_id, m.CaseLinkRow.other_case_id == case_id))
            .order_by(m.CaseLinkRow.id)
        )
        return [_link(r) for r in rows]

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
            self.session.execute(
                update(m.MessageRow)
                .where(m.MessageRow.id.in_(list(message_ids)))
                .values(case_id=to_case_id)
            )

    def move_grants(self, grant_ids: Sequence[int], to_case_id: int) -> None:
        if grant_ids:
            self.session.execute(
                update(m.GrantRow)
                .where(m.GrantRow.id.in_(list(grant_ids)))
                .values(case_id=to_case_id)
            )
            self.session.execute(
                update(m.ApprovalRow)
                .where(m.ApprovalRow.grant_id.in_(list(grant_ids)))
                .values(case_id=to_case_id)
            )

    def grant_ids(self, case_id: int) -> list[int]:
        return list(
            self.session.scalars(
                select(m.GrantRow.id).where(m.GrantRow.case_id == case_id).order_by(m.GrantRow.id)
            )
        )

    # Proactive findings

    def finding(self, key: str) -> FindingRecord | None:
        row = self.session.scalar(
            select(m.ProactiveFindingRow).where(m.ProactiveFindingRow.key == key)
        )
        return _finding(row) if row is not None else None

    def add_finding(self, finding: FindingRecord) -> None:
        row = m.ProactiveFindingRow(
            key=finding.key,
            kind=finding.kind.value,
            customer_id=finding.customer_id,
            order_id=finding.order_id,
            case_id=finding.case_id,
            facts=finding.facts,
            recommendation=finding.recommendation,
            created_at=finding.created_at,
        )
        self.session.add(row)
        self.session.flush()
        finding.id = row.id

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
        return [_finding(r) for r in rows]
