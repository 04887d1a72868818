"""The reports' SQL: the period's cases as one set of per-case facts (a CTE), aggregated by the
database for each kind of measure, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import fields
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    CompoundSelect,
    Date,
    Numeric,
    Select,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.adapters.db.case_filters import executed_grants, granted_cases
from caredesk.adapters.db.types import aware_utc
from caredesk.domain.grants import ApprovalStatus
from caredesk.domain.ledger import GOODWILL_PREFIX, REFUNDS_ACCOUNT
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.reports.filters import ReportFilter
from caredesk.services.reports.measures import Kind
from caredesk.services.reports.ports import CaseMeasures, FigureRow, Value


def _is_cost() -> ColumnElement[bool]:
    entry = m.LedgerEntryRow  # the same test as ledger.is_cost, in SQL
    return and_(
        entry.amount > 0,
        (entry.account == REFUNDS_ACCOUNT) | entry.account.startswith(GOODWILL_PREFIX),
    )


class SqlReportQueries:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    @property
    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def _day(self, column: Any) -> ColumnElement[Any]:
        if self._dialect == "sqlite":
            return func.date(column)
        return cast(func.timezone("UTC", column), Date)

    def _seconds(self, start: Any, end: Any) -> ColumnElement[Any]:
        """Seconds from start to end, never below zero (an imported reply may predate its
        case); rounded to the millisecond, as SQLite's julianday is a double."""
        if self._dialect == "sqlite":
            seconds = func.round((func.julianday(end) - func.julianday(start)) * 86400, 3)
            return func.max(seconds, 0)
        # GREATEST ignores a NULL: without a case, an unanswered case would take 0 seconds.
        seconds = func.greatest(func.round(cast(extract("epoch", end - start), Numeric), 3), 0)
        return case((end.is_(None), None), else_=seconds)

    def _facts(self, filters: ReportFilter) -> CTE:
        """One row per selected case with what every case measure needs, from the facts the
        unit of work keeps for each case (adapters/db/case_facts.py) alone."""
        kept = m.CaseFactsRow
        return (
            select(
                kept.case_id,
                kept.created_at,
                kept.solved_at,
                kept.status,
                kept.priority,
                kept.channel,
                kept.team_id,
                kept.assignee_id,
                kept.service_level,
                kept.first_reply_at,
                kept.agent_replies,
                kept.wrote_again,
                kept.reopened,
                kept.calendar_id,
                kept.first_reply_business_seconds,
                kept.resolution_business_seconds,
            )
            .where(*_selected(filters.case_filter()))
            .cte("facts")
        )

    def _group(self, facts: CTE, group_by: str | None) -> ColumnElement[Any]:
        columns: dict[str | None, ColumnElement[Any]] = {
            None: literal("*"),
            "agent": facts.c.assignee_id,
            "team": facts.c.team_id,
            "priority": facts.c.priority,
            "channel": facts.c.channel,
            "day": self._day(facts.c.created_at),
        }
        return columns[group_by]

    def figures(self, kind: Kind, filters: ReportFilter, group_by: str | None) -> list[FigureRow]:
        facts = self._facts(filters)
        queries: dict[Kind, Callable[[CTE, str | None], list[FigureRow]]] = {
            Kind.COUNT: self._counts,
            Kind.FIRST_REPLY: partial(self._durations, "first_reply"),
            Kind.RESOLUTION: partial(self._durations, "resolution"),
            Kind.SLA: self._sla,
            Kind.SATISFACTION: self._satisfaction,
            Kind.ESCALATIONS: self._escalations,
            Kind.REPEAT_ASKS: self._repeat_asks,
            Kind.GRANTS: self._grants,
            Kind.SERVICE_LEVELS: self._service_levels,
        }
        return queries[kind](facts, group_by)

    def _rows(self, stmt: Select[Any], names: tuple[str, ...]) -> list[FigureRow]:
        """Rows of (group, *values) as figures, groups in order."""
        figures = []
        for group, *values in self.session.execute(stmt):
            shown = None if group is None or group == "*" else str(group)
            figures.append(FigureRow(shown, dict(zip(names, map(_number, values), strict=True))))
        return sorted(figures, key=lambda f: (f.group is None, f.group or ""))

    def _counts(self, facts: CTE, group_by: str | None) -> list[FigureRow]:
        group, c = self._group(facts, group_by), facts.c
        solved, reopened = c.solved_at.is_not(None), c.reopened.is_(True)
        one_touch = and_(solved, c.agent_replies == 1)
        first_contact = and_(solved, c.first_reply_at.is_not(None), c.wrote_again.is_(False))
        stmt = select(
            group,
            func.count(),
            func.count().filter(solved),
            func.count().filter(reopened),
            func.count().filter(solved | reopened),
            func.count().filter(one_touch),
            func.count().filter(first_contact, c.reopened.is_(False)),
        ).group_by(group)
        names = ("cases", "solved", "reopened", "ever_solved", "one_touch", "first_contact")
        return self._rows(stmt, names)

    def _percentiles(self, values: Select[Any] | CompoundSelect[Any]) -> Select[Any]:
        """(*keys, n, median, p90) of `values` (*keys, value), by keys: the median is the
        middle value or the mean of the middle two; the 90th percentile the value at rank
        ceil(0.9 n)."""
        source = values.subquery()
        *keys, value = source.c
        ranked = select(
            *(key.label(f"key{i}") for i, key in enumerate(keys)),
            value.label("value"),
            func.row_number().over(partition_by=keys, order_by=value).label("r"),
            func.count().over(partition_by=keys).label("n"),
        ).subquery("ranked")
        r, n = ranked.c.r, ranked.c.n
        middle = (r == (n + 1) // 2) | (r == (n + 2) // 2)
        grouped = [ranked.c[f"key{i}"] for i in range(len(keys))]
        return select(
            *grouped,
            func.max(n),
            func.avg(case((middle, ranked.c.value))),
            func.max(case((r == (9 * n + 9) // 10, ranked.c.value))),
        ).group_by(*grouped)

    def _durations(self, moment: str, facts: CTE, group_by: str | None) -> list[FigureRow]:
        """The hours from each case's opening to its first reply or its solving (`moment`),
        in calendar and in business hours: both series' percentiles by group, in one
        statement of ordered-set aggregates on PostgreSQL (which ignore a case without the
        value) and one ranking statement on SQLite, which has none."""
        group, c = self._group(facts, group_by), facts.c
        end = {"first_reply": c.first_reply_at, "resolution": c.solved_at}[moment]
        series = {
            moment: self._seconds(c.created_at, end),
            f"{moment}_business": c[f"{moment}_business_seconds"],
        }
        names = ("cases", "median_hours", "p90_hours")
        if self._dialect == "postgresql":
            columns = [
                aggregate
                for value in series.values()
                for aggregate in (
                    func.count(value),
                    func.percentile_cont(0.5).within_group(value),
                    func.percentile_disc(0.9).within_group(value),
                )
            ]
            stmt = select(group, *columns).group_by(group)
            flat = tuple(f"{prefix}_{name}" for prefix in series for name in names)
            rows = _in_hours(self._rows(stmt, flat))
        else:
            # Both series as one (series, group, value) set, ranked in one statement.
            values = union_all(
                *(
                    select(literal(prefix), group, value).where(value.is_not(None))
                    for prefix, value in series.items()
                )
            )
            by_series: dict[str, list[FigureRow]] = {prefix: [] for prefix in series}
            for prefix, grp, *figures in self.session.execute(self._percentiles(values)):
                shown = None if grp is None or grp == "*" else str(grp)
                numbers = dict(zip(names, map(_number, figures), strict=True))
                by_series[prefix].append(FigureRow(shown, numbers))
            rows = _merged(*((prefix, _in_hours(found)) for prefix, found in by_series.items()))
        return [_durations_filled(row, series) for row in rows]

    def _sla(self, facts: CTE, group_by: str | None) -> list[FigureRow]:
        clock = m.SlaClockRow
        group = self._group(facts, group_by)
        decided = clock.breached_at.is_not(None) | clock.completed_at.is_not(None)
        rows = self.session.execute(
            select(
                group, clock.metric, func.count(), func.count().filter(clock.breached_at.is_(None))
            )
            .join(facts, facts.c.case_id == clock.case_id)
            .where(clock.target_minutes.is_not(None), decided)
            .group_by(group, clock.metric)
        )
        by_group: dict[str | None, dict[str, Value]] = {}
        for grp, metric, n, met in rows:
            values = by_group.setdefault(None if grp in (None, "*") else str(grp), {})
            values[f"{metric}_decided"], values[f"{metric}_met"] = int(n), int(met)
            values[f"{metric}_share_met"] = round(met / n, 4)
        return [FigureRow(g, v) for g, v in sorted(by_group.items(), key=_group_order)]

    def _remedies(self, remedy_ids: Any) -> Any:
        """The remedy ids of a bundle, one row each (a table-valued function)."""
        if self._dialect == "sqlite":
            return func.json_each(remedy_ids).table_valued("value", name="remedy")
        return func.json_array_elements_text(remedy_ids).table_valued("value", name="remedy")

    def _satisfaction(self, facts: CTE, group_by: str | None) -> list[FigureRow]:
        survey = m.SatisfactionSurveyRow
        if group_by == "remedy":
            grants = select(m.GrantRow.case_id, m.GrantRow.remedy_ids).where(*executed_grants())
            granted = grants.where(m.GrantRow.case_id.is_not(None)).subquery()
            remedy = self._remedies(granted.c.remedy_ids)
            group: ColumnElement[Any] = remedy.c.value
            base = (
                select(survey.case_id.label("case_id"), group.label("grp"))
                .distinct()
                .join(granted, granted.c.case_id == survey.case_id)
                .join(remedy, literal(True))
                .subquery()
            )
            joined = select(base.c.grp).join(survey, survey.case_id == base.c.case_id)
            joined = joined.join(facts, facts.c.case_id == survey.case_id)
        else:
            group = self._group(facts, group_by)
            joined = select(group).join(facts, facts.c.case_id == survey.case_id)
        stmt = joined.add_columns(
            func.count(),
            func.count(survey.score),
            func.count().filter(survey.score >= 4),
            func.coalesce(func.sum(survey.score), 0),
        ).group_by(*joined.selected_columns)
        names = ("sent", "answered", "positive", "score_total")
        return [_satisfaction_shares(f) for f in self._rows(stmt, names)]

    def _escalations(self, facts: CTE, group_by: str | None) -> list[FigureRow]:
        approval, grant = m.ApprovalRow, m.GrantRow
        group = {None: literal("*"), "agent": grant.agent_id, "team": grant.team_id}[group_by]
        base = (
            select(group.label("grp"), approval.created_at, approval.decided_at, approval.status)
            .join(grant, grant.id == approval.grant_id)
            .join(facts, facts.c.case_id == grant.case_id)
            .subquery()
        )
        counts: Select[Any] = select(
            base.c.grp,
            func.count(),
            func.count().filter(base.c.status == ApprovalStatus.APPROVED.value),
            func.count().filter(base.c.status == ApprovalStatus.DENIED.value),
        ).group_by(base.c.grp)
        waits = select(base.c.grp, self._seconds(base.c.created_at, base.c.decided_at)).where(
            base.c.decided_at.is_not(None)
        )
        return _merged(
            ("", self._rows(counts, ("requested", "approved", "denied"))),
            (
                "wait",
                _in_hours(
                    self._rows(self._percentiles(waits), ("decided", "median_hours", "p90_hours"))
                ),
            ),
        )

    def _repeat_asks(self, facts: CTE, group_by: str | None) -> list[FigureRow]:
        ask = m.RepeatAskRow
        group = {None: literal("*"), "agent": ask.agent_id, "team": facts.c.team_id}[group_by]
        stmt = (
            select(group, func.count(), func.count(ask.case_id.distinct()))
            .join(facts, facts.c.case_id == ask.case_id)
            .group_by(group)
        )
        return self._rows(stmt, ("asks", "cases_with_asks"))

    def _service_levels(self, facts: CTE, group_by: str | None) -> list[FigureRow]:
        group, c = self._group(facts, group_by), facts.c
        stmt = select(
            group,
            func.count().filter(c.solved_at.is_not(None)),
            *(
                func.count().filter(c.solved_at.is_not(None), c.service_level == n)
                for n in (1, 2, 3)
            ),
        ).group_by(group)
        return self._rows(stmt, ("solved", "level_1", "level_2", "level_3"))

    def _grants(self, facts: CTE, group_by: str | None) -> list[FigureRow]:
        grant, entry = m.GrantRow, m.LedgerEntryRow
        # Each grant's cost from its own postings, found through the index on grant_id: an
        # aggregate of every posting joined afterwards read the whole ledger.
        cost = (
            select(func.sum(entry.amount))
            .where(entry.grant_id == grant.id, _is_cost())
            .correlate(grant)
            .scalar_subquery()
        )
        granted = (
            select(grant.id, grant.remedy_ids, grant.agent_id, grant.team_id, cost.label("cost"))
            .join(facts, facts.c.case_id == grant.case_id)
            .where(*executed_grants())
            .subquery("granted")
        )
        costs = select(entry.grant_id, entry.remedy_id, entry.amount).where(_is_cost()).subquery()
        if group_by == "remedy":
            remedy = self._remedies(granted.c.remedy_ids)
            counts = select(remedy.c.value, func.count()).join(remedy, literal(True))
            counts = counts.select_from(granted).group_by(remedy.c.value)
            spent = select(costs.c.remedy_id, func.sum(costs.c.amount)).join(
                granted, granted.c.id == costs.c.grant_id
            )
            spent = spent.group_by(costs.c.remedy_id)
            counted, costs_by = self._rows(counts, ("grants",)), self._rows(spent, ("cost",))
            return [_money(f) for f in _merged(("", counted), ("", costs_by))]
        decided_by = (
            select(m.ApprovalRow.grant_id, m.ApprovalRow.decided_by)
            .where(m.ApprovalRow.status == ApprovalStatus.APPROVED.value)
            .subquery()
        )
        group = {
            None: literal("*"),
            "agent": granted.c.agent_id,
            "team": granted.c.team_id,
            "approver": decided_by.c.decided_by,
        }[group_by]
        stmt = (
            select(group, func.count(), func.coalesce(func.sum(granted.c.cost), 0))
            .select_from(granted)
            .outerjoin(decided_by, decided_by.c.grant_id == granted.c.id)
            .group_by(group)
        )
        return [_money(f) for f in self._rows(stmt, ("grants", "cost"))]

    def case_rows(self, filters: ReportFilter) -> Iterator[CaseMeasures]:
        facts = self._facts(filters)
        c = facts.c
        stmt = select(
            facts,
            self._seconds(c.created_at, c.first_reply_at),
            self._seconds(c.created_at, c.solved_at),
        ).order_by(c.created_at, c.case_id)
        for row in self.session.execute(stmt.execution_options(yield_per=500)):
            yield _case_measures(row)


# What a report's filters may set (ReportFilter.case_filter): each is read from the facts.
_REPORT_FILTERS = {
    "assignee_id", "unassigned", "team_id", "no_team", "priority", "channel", "tag", "remedy",
    "created_from", "created_before",
}  # fmt: skip


def _selected(filters: CaseFilter) -> list[ColumnElement[bool]]:
    """The conditions of the cases a report is about, over their facts: those a queue sets
    over the cases (case_filters.case_conditions), so a figure and its drill-down agree."""
    kept = m.CaseFactsRow
    unread = {f.name for f in fields(filters) if getattr(filters, f.name) != f.default}
    if unread - _REPORT_FILTERS:
        raise ValueError(f"a report reads no {sorted(unread - _REPORT_FILTERS)} of a case")
    conditions: list[ColumnElement[bool]] = []
    if filters.unassigned:
        conditions.append(kept.assignee_id.is_(None))
    elif filters.assignee_id is not None:
        conditions.append(kept.assignee_id == filters.assignee_id)
    if filters.no_team:
        conditions.append(kept.team_id.is_(None))
    elif filters.team_id is not None:
        conditions.append(kept.team_id == filters.team_id)
    if filters.priority:
        conditions.append(kept.priority.in_([p.value for p in filters.priority]))
    if filters.channel:
        conditions.append(kept.channel.in_([c.value for c in filters.channel]))
    if filters.created_from is not None:
        conditions.append(kept.created_at >= filters.created_from)
    if filters.created_before is not None:
        conditions.append(kept.created_at < filters.created_before)
    if filters.tag is not None:
        tagged = select(m.CaseTagRow.case_id).where(m.CaseTagRow.tag == filters.tag.lower())
        conditions.append(kept.case_id.in_(tagged))
    if filters.remedy is not None:
        conditions.append(kept.case_id.in_(granted_cases(filters.remedy)))
    return conditions


def _case_measures(row: Any) -> CaseMeasures:
    *fact, reply_seconds, solve_seconds = row
    case_id, created, solved, status, priority, channel, team, agent, level = fact[:9]
    replied, replies = fact[9], fact[10]
    wrote_again, reopened, calendar_id = bool(fact[11]), bool(fact[12]), fact[13]
    reply_business, solve_business = fact[14], fact[15]
    solved_at = aware_utc(solved)
    return CaseMeasures(
        case_id=int(case_id),
        created_at=aware_utc(created) or created,
        solved_at=solved_at,
        status=status,
        priority=priority,
        channel=channel,
        team_id=team,
        agent_id=agent,
        first_reply_hours=_hours(reply_seconds),
        resolution_hours=_hours(solve_seconds),
        agent_replies=int(replies),
        reopened=reopened,
        one_touch=solved_at is not None and int(replies) == 1,
        first_contact=solved_at is not None
        and int(replies) > 0
        and not wrote_again
        and not reopened,
        service_level=level,
        first_reply_at=aware_utc(replied),
        calendar_id=calendar_id,
        first_reply_business_hours=_hours(reply_business),
        resolution_business_hours=_hours(solve_business),
    )


def _hours(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / 3600, 4)


def _number(value: Any) -> Value:
    """A figure as JSON carries it: counts whole, amounts and hours as floats (hours from
    seconds), NULL as None."""
    if value is None or isinstance(value, int):
        return value
    return float(value)


def _in_hours(rows: list[FigureRow]) -> list[FigureRow]:
    """The percentiles, worked out in seconds, as hours."""
    return [
        FigureRow(
            row.group,
            {
                k: round(float(v) / 3600, 4) if k.endswith("_hours") and v is not None else v
                for k, v in row.values.items()
            },
        )
        for row in rows
    ]


def _durations_filled(row: FigureRow, series: dict[str, Any]) -> FigureRow:
    """Every series' figures in a group, a series with no case in it as 0 cases and no
    percentiles (SQLite's ranking only names the groups each series has)."""
    values = dict(row.values)
    for prefix in series:
        values.setdefault(f"{prefix}_cases", 0)
        values.setdefault(f"{prefix}_median_hours", None)
        values.setdefault(f"{prefix}_p90_hours", None)
    return FigureRow(row.group, values)


def _money(row: FigureRow) -> FigureRow:
    """A grant figure's cost as money (a remedy granted without postings cost nothing)."""
    cost = Decimal(str(row.values.get("cost") or 0)).quantize(Decimal("0.01"))
    return FigureRow(row.group, {"grants": row.values.get("grants") or 0, "cost": cost})


def _group_order(item: tuple[str | None, Any]) -> tuple[bool, str]:
    return (item[0] is None, item[0] or "")


def _merged(*parts: tuple[str, list[FigureRow]]) -> list[FigureRow]:
    """Figures of several statements joined by group, each part's names prefixed."""
    by_group: dict[str | None, dict[str, Value]] = {}
    for prefix, rows in parts:
        for row in rows:
            values = by_group.setdefault(row.group, {})
            values.update({f"{prefix}_{k}" if prefix else k: v for k, v in row.values.items()})
    return [FigureRow(g, v) for g, v in sorted(by_group.items(), key=_group_order)]


def _satisfaction_shares(row: FigureRow) -> FigureRow:
    names = ("sent", "answered", "positive", "score_total")
    sent, answered, positive, score_total = (int(row.values[k] or 0) for k in names)
    return FigureRow(
        row.group,
        {
            "sent": sent,
            "answered": answered,
            "positive": positive,
            "response_rate": round(answered / sent, 4) if sent else None,
            "share_positive": round(positive / answered, 4) if answered else None,
            "average_score": round(score_total / answered, 2) if answered else None,
        },
    )
