"""The catalogue of measures: each one's stable name, title, unit, exact definition (the text
docs/reporting.md shows) and the groupings it allows. Every measure is about the cases the
filters select: opened in the period, of the team, agent, channel, priority, tag and remedy."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from caredesk.domain.errors import ValidationFailed


class Kind(StrEnum):
    """How the database works a measure out: the adapter has one query for each kind."""

    COUNT = "count"  # cases meeting a condition, and their share of the cases
    # Median and 90th percentile of hours, per case, in calendar and in business hours: one
    # kind each, since each sorts its cases' hours apart (two sorts, not four).
    FIRST_REPLY = "first_reply"
    RESOLUTION = "resolution"
    SLA = "sla"  # targets decided and met, by target
    SATISFACTION = "satisfaction"  # surveys sent, answered, positive
    ESCALATIONS = "escalations"  # approvals requested, decided, their wait
    REPEAT_ASKS = "repeat_asks"  # repeat asks recorded
    GRANTS = "grants"  # grants executed and their cost from the ledger
    SERVICE_LEVELS = "service_levels"  # solved cases by service level


CASE_GROUPS = ("agent", "team", "priority", "channel", "day")


@dataclass(frozen=True, slots=True)
class Measure:
    name: str
    title: str
    unit: str
    definition: str
    kind: Kind
    group_by: tuple[str, ...]


def _m(name: str, title: str, unit: str, kind: Kind, groups: tuple[str, ...], text: str) -> Measure:
    return Measure(name, title, unit, " ".join(text.split()), kind, groups)


CATALOGUE: tuple[Measure, ...] = (
    _m("cases_opened", "Cases opened", "cases", Kind.COUNT, CASE_GROUPS,
       """The cases opened in the period that the filters select."""),
    _m("cases_solved", "Cases solved", "cases", Kind.COUNT, CASE_GROUPS,
       """Of the cases opened, those solved now (solved or closed after being solved)."""),
    _m("cases_reopened", "Cases reopened", "cases", Kind.COUNT, CASE_GROUPS,
       """Of the cases opened, those whose audit trail shows a move from solved back to an
       open status (new, open, pending or on-hold) at least once."""),
    _m("reopen_rate", "Reopen rate", "share", Kind.COUNT, CASE_GROUPS,
       """Cases reopened divided by the cases ever solved (solved now, or reopened); null
       when no case was solved."""),
    _m("one_touch_resolution", "One-touch resolution", "share", Kind.COUNT, CASE_GROUPS,
       """Of the cases solved now, the share with exactly one outbound (agent) reply."""),
    _m("first_contact_resolution", "First-contact resolution", "share", Kind.COUNT, CASE_GROUPS,
       """Of the cases solved now, the share where the customer wrote no inbound message after
       the first outbound reply and the case was never reopened."""),
    _m("first_reply_time", "First reply time", "hours", Kind.FIRST_REPLY, CASE_GROUPS,
       """Calendar hours from a case's opening to its first outbound (agent) reply, over the
       cases replied to: the median (the middle value, or the mean of the middle two) and
       the 90th percentile (the value at rank ceil(0.9 n) of the n sorted values)."""),
    _m("resolution_time", "Resolution time", "hours", Kind.RESOLUTION, CASE_GROUPS,
       """Calendar hours from a case's opening to its solving (the last time it was solved),
       over the cases solved now: median and 90th percentile as for first reply time."""),
    _m("sla_attainment", "SLA attainment", "share", Kind.SLA, CASE_GROUPS,
       """For each target (first_reply, next_reply, resolution), the SLA clocks of the cases
       with a target that were decided (breached, or completed in time), and the share met
       (completed without a breach). Clocks still running are not counted."""),
    _m("satisfaction", "Satisfaction", "share", Kind.SATISFACTION,
       ("agent", "team", "remedy", "day"),
       """The surveys sent for the cases, those answered (responses), the response rate
       (responses / surveys sent), the share positive (score 4 or 5 / responses) and the
       average score (1 to 5) of the responses."""),
    _m("escalations", "Escalations", "approvals", Kind.ESCALATIONS, ("agent", "team"),
       """Approval requests raised on the cases (a grant above the agent's authority), by
       the agent and team of the grant; how many were decided and the median and 90th
       percentile hours from request to decision."""),
    _m("approval_wait", "Approvals' wait", "hours", Kind.ESCALATIONS, ("agent", "team"),
       """The same approvals as escalations, read for their wait: hours from request to
       decision (approved or rejected), median and 90th percentile; pending ones not
       counted."""),
    _m("repeat_asks", "Repeat asks", "asks", Kind.REPEAT_ASKS, ("agent", "team"),
       """The repeat asks recorded on the cases (an answer asking the customer for what the
       desk already had), by the agent who wrote the answer."""),
    _m("grants", "Grants", "grants", Kind.GRANTS, ("remedy", "agent", "team", "approver"),
       """The grants executed on the cases (a reversed grant still counts, its reversal
       does not), and their cost: the sum of each grant's ledger postings debiting refunds
       or goodwill. By remedy, each remedy's own postings: never a bundle's cost split over
       its remedies; postings that name no remedy group as null."""),
    _m("service_level_mix", "Service-level mix", "cases", Kind.SERVICE_LEVELS, CASE_GROUPS,
       """The cases solved now by the service level of their resolution (1 deflected by
       policy, 2 saved the sale, 3 invested in the customer)."""),
)  # fmt: skip

BY_NAME = {measure.name: measure for measure in CATALOGUE}


def check_grouping(measure: Measure, group_by: str | None) -> None:
    if group_by is not None and group_by not in measure.group_by:
        raise ValidationFailed(
            f"{measure.name} cannot be grouped by {group_by!r}",
            details={"field": "group_by", "allowed": list(measure.group_by)},
        )
