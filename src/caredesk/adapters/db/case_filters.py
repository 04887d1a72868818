"""The WHERE clauses a `CaseFilter` stands for, shared by the case list and the console's counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, String, cast, select

from caredesk.adapters.db import models as m
from caredesk.adapters.db.search import case_text_condition
from caredesk.domain.grants import GrantStatus
from caredesk.services.cases.ports import CaseFilter


def case_conditions(filters: CaseFilter, dialect: str) -> list[ColumnElement[bool]]:
    """Every condition `filters` sets, over `cases`; `dialect` picks the full-text search."""
    conditions: list[ColumnElement[bool]] = []
    if filters.status:
        conditions.append(m.CaseRow.status.in_([s.value for s in filters.status]))
    if filters.unassigned:
        conditions.append(m.CaseRow.assignee_id.is_(None))
    elif filters.assignee_id is not None:
        conditions.append(m.CaseRow.assignee_id == filters.assignee_id)
    if filters.no_team:
        conditions.append(m.CaseRow.team_id.is_(None))
    elif filters.team_id is not None:
        conditions.append(m.CaseRow.team_id == filters.team_id)
    if filters.customer_id is not None:
        conditions.append(m.CaseRow.customer_id == filters.customer_id)
    if filters.external_id is not None:
        conditions.append(m.CaseRow.external_id == filters.external_id)
    if filters.updated_since is not None:
        conditions.append(m.CaseRow.updated_at >= filters.updated_since)
    if filters.tag is not None:
        conditions.append(
            m.CaseRow.id.in_(
                select(m.CaseTagRow.case_id).where(m.CaseTagRow.tag == filters.tag.lower())
            )
        )
    if filters.text:
        conditions.append(case_text_condition(dialect, filters.text))
    return conditions + _search_conditions(filters, dialect)


def _tagged(tags: Sequence[str]) -> ColumnElement[bool]:
    tagged = select(m.CaseTagRow.case_id).where(m.CaseTagRow.tag.in_([t.lower() for t in tags]))
    return m.CaseRow.id.in_(tagged)


def _search_conditions(filters: CaseFilter, dialect: str) -> list[ColumnElement[bool]]:
    """The conditions only /api/v2 search sets."""
    conditions: list[ColumnElement[bool]] = []
    if filters.priority:
        conditions.append(m.CaseRow.priority.in_([p.value for p in filters.priority]))
    if filters.tags_any:
        conditions.append(_tagged(filters.tags_any))
    if filters.tags_none:
        conditions.append(~_tagged(filters.tags_none))
    if filters.created_from is not None:
        conditions.append(m.CaseRow.created_at >= filters.created_from)
    if filters.created_before is not None:
        conditions.append(m.CaseRow.created_at < filters.created_before)
    if filters.updated_before is not None:
        conditions.append(m.CaseRow.updated_at < filters.updated_before)
    conditions += [~case_text_condition(dialect, word) for word in filters.text_absent]
    if filters.channel:
        conditions.append(m.CaseRow.channel.in_([c.value for c in filters.channel]))
    if filters.remedy is not None:
        conditions.append(m.CaseRow.id.in_(granted_cases(filters.remedy)))
    return conditions


def executed_grants() -> list[ColumnElement[bool]]:
    """Grants that were granted: a grant reversed later still counts, its reversal does not."""
    return [
        m.GrantRow.status.in_([GrantStatus.EXECUTED.value, GrantStatus.REVERSED.value]),
        m.GrantRow.reverses_grant_id.is_(None),
    ]


def granted_cases(remedy: str) -> Select[Any]:
    """The cases with an executed grant of the remedy. The bundle's JSON text holds each id
    quoted, so the quoted id matches that remedy and no other."""
    bundle = cast(m.GrantRow.remedy_ids, String)
    return select(m.GrantRow.case_id).where(
        m.GrantRow.case_id.is_not(None),
        *executed_grants(),
        bundle.contains(f'"{remedy}"', autoescape=True),
    )
