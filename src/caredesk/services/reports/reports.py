"""Reports: a measure's figures over the cases the filters select, grouped as asked, each
with the queue URL of the cases behind it; and the cases one by one, for CSV."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.errors import DomainError, ErrorCode, Forbidden, ValidationFailed
from caredesk.services.engine.policy import policy_in_force
from caredesk.services.reports.filters import NONE, ReportFilter
from caredesk.services.reports.measures import (
    BY_NAME,
    CATALOGUE,
    Kind,
    Measure,
    check_grouping,
)
from caredesk.services.reports.ports import CaseMeasures, FigureRow, Value
from caredesk.services.reports.unit import ReportsUnit

QUEUE_PATH = "/queue"
# The count kind's figures that each count measure reads, and the share's denominator.
COUNT_VALUES: dict[str, tuple[str, str | None]] = {
    "cases_opened": ("cases", None),
    "cases_solved": ("solved", None),
    "cases_reopened": ("reopened", None),
    "reopen_rate": ("reopened", "ever_solved"),
    "one_touch_resolution": ("one_touch", "solved"),
    "first_contact_resolution": ("first_contact", "solved"),
}

# The measures that read one part of their kind's figures, by the part's prefix.
PREFIXED = {
    "first_reply_time": "first_reply_",
    "resolution_time": "resolution_",
    "approval_wait": "wait_",
}


@dataclass(frozen=True, slots=True)
class Figure:
    group: str | None
    values: dict[str, Value]
    cases_url: str


@dataclass(frozen=True, slots=True)
class Report:
    """A measure's figures; with no case in the period, `cases` is 0 and `figures` None:
    nothing was measured, which zeros would hide."""

    measure: Measure
    filters: ReportFilter
    group_by: str | None
    cases: int
    figures: list[Figure] | None


def catalogue(uow: ReportsUnit, actor: Actor) -> tuple[Measure, ...]:
    """Every measure with its definition; anyone who may read reports may read this."""
    actor.require(Permission.READ)
    return CATALOGUE


def measure_named(name: str) -> Measure:
    measure = BY_NAME.get(name)
    if measure is None:
        raise DomainError(
            f"no measure {name!r}",
            code=ErrorCode.NOT_FOUND,
            details={"field": "measure", "allowed": sorted(BY_NAME)},
        )
    return measure


def _scoped(uow: ReportsUnit, actor: Actor, filters: ReportFilter) -> ReportFilter:
    """Leads and admins see every case; an agent only their own, whatever they asked."""
    if filters.remedy is not None:
        _check_remedy(uow, filters.remedy)
    if not actor.can(Permission.APPROVE):
        actor.require(Permission.READ)
        if actor.agent_id is None:
            # Without the lead's permission a report is one's own cases: no agent, no cases.
            raise Forbidden(
                "reports are read by leads, or by agents of their own cases",
                details={"permission": Permission.APPROVE.value, "role": actor.role.value},
            )
        return filters.for_agent(actor.agent_id)
    if filters.team_id is not None and uow.teams.get(filters.team_id) is None:
        allowed = [*sorted(t.id for t in uow.teams.all() if t.id is not None), NONE]
        raise ValidationFailed(
            f"no team {filters.team_id}", details={"field": "team", "allowed": allowed}
        )
    if filters.agent_id is not None and uow.agents.get(filters.agent_id) is None:
        allowed = [*sorted(a.id for a in uow.agents.all() if a.id is not None), NONE]
        raise ValidationFailed(
            f"no agent {filters.agent_id}", details={"field": "agent", "allowed": allowed}
        )
    return filters


def _check_remedy(uow: ReportsUnit, remedy: str) -> None:
    """A remedy the policy in force names (without a policy, none is refused: there is
    nothing to check against, and no grant either)."""
    try:
        remedies = sorted(r.id for r in policy_in_force(uow).policy.remedies)
    except DomainError:
        return
    if remedy not in remedies:
        raise ValidationFailed(
            f"no remedy {remedy!r} in the policy", details={"field": "remedy", "allowed": remedies}
        )


def report(
    uow: ReportsUnit,
    actor: Actor,
    now: datetime,
    measure_name: str,
    filters: ReportFilter,
    group_by: str | None = None,
) -> Report:
    """One measure over the filtered cases: one statement counts them, one to three work the
    measure out, whatever the number of cases."""
    measure = measure_named(measure_name)
    check_grouping(measure, group_by)
    with uow:
        filters = _scoped(uow, actor, filters)
        counted = uow.reports.figures(Kind.COUNT, filters, None)
        cases = int(counted[0].values["cases"] or 0) if counted else 0
        if cases == 0:
            return Report(measure, filters, group_by, 0, None)
        if measure.kind is Kind.COUNT and group_by is None:
            rows = counted
        else:
            rows = uow.reports.figures(measure.kind, filters, group_by)
    figures = [_figure(measure, filters, group_by, row) for row in rows]
    return Report(measure, filters, group_by, cases, figures)


def _figure(
    measure: Measure, filters: ReportFilter, group_by: str | None, row: FigureRow
) -> Figure:
    values = row.values
    if measure.name in COUNT_VALUES:
        part, whole = COUNT_VALUES[measure.name]
        shown: dict[str, Value] = {"cases": values["cases"], "value": values[part]}
        if whole is not None:
            denominator = int(values[whole] or 0)
            shown["of"] = denominator
            shown["value"] = round(int(values[part] or 0) / denominator, 4) if denominator else None
        values = shown
    elif measure.name in PREFIXED:
        prefix = PREFIXED[measure.name]
        values = {k.removeprefix(prefix): v for k, v in values.items() if k.startswith(prefix)}
    return Figure(row.group, values, cases_url(filters, group_by, row.group))


def cases_url(filters: ReportFilter, group_by: str | None, group: str | None) -> str:
    """The console queue of the cases behind a figure: every case (any status) with the
    report's filters, and the figure's own group as one more filter: the cases of no team or
    of no agent are a group too (`none`), so their figure's link opens those cases alone."""
    params = [("view", "all"), *filters.query()]
    if group_by in ("team", "agent") and group is None:
        group = NONE
    if group_by is not None and group is not None:
        if group_by == "day":
            params = [(k, v) for k, v in params if k not in ("start", "end")]
            params += [("start", group), ("end", group)]
        elif group_by != "approver":
            params = [(k, v) for k, v in params if k != group_by] + [(group_by, group)]
    return f"{QUEUE_PATH}?{urlencode(params)}"


def scope(uow: ReportsUnit, actor: Actor, filters: ReportFilter) -> ReportFilter:
    """The filters as the actor may use them, refused when they name an unknown team or
    agent: checked before a CSV starts streaming, so a refusal is still a problem answer."""
    with uow:
        return _scoped(uow, actor, filters)


def case_rows(
    uow: ReportsUnit, actor: Actor, now: datetime, filters: ReportFilter
) -> Iterator[CaseMeasures]:
    """Every filtered case with its measures, oldest first, read as the caller consumes
    them (the unit stays open until the last row)."""
    with uow:
        filters = _scoped(uow, actor, filters)
        yield from uow.reports.case_rows(filters)
