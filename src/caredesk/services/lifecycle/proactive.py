"""Proactive cases: the scan that opens a case before the customer complains."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from caredesk.domain.agents import Actor, Permission, Role
from caredesk.domain.cases import Case, Channel, Message, MessageKind
from caredesk.domain.errors import DomainError, ErrorCode, NotFound
from caredesk.domain.lifecycle import proactive as rules
from caredesk.domain.lifecycle.proactive import (
    Finding,
    FindingKind,
    FindingRecord,
    IssueRef,
    ScanThresholds,
)
from caredesk.services.cases.ports import CaseFilter
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command
from caredesk.services.core.copying import built_from
from caredesk.services.core.reads import read
from caredesk.services.engine import grants
from caredesk.services.lifecycle.cases import add_note, get_case
from caredesk.services.lifecycle.options import LifecycleOptions
from caredesk.services.lifecycle.unit import ProactiveUnit

# The planner recommends what the front line could grant, not what an admin could.
PLANNER = Actor(role=Role.AGENT)
PROACTIVE_TAG = "proactive"


@dataclass(frozen=True, slots=True)
class ScanReport:
    found: int = 0
    opened: list[int] = field(default_factory=list)
    already_known: int = 0
    recommended: int = 0
    errors: list[str] = field(default_factory=list)


def _findings(uow: ProactiveUnit, now: datetime, thresholds: ScanThresholds) -> list[Finding]:
    issues = [
        IssueRef(i.key, i.title, frozenset(i.product_ids), frozenset(i.variant_ids))
        for i in uow.known_issues.all(active_only=True)
        if i.product_ids or i.variant_ids
    ]
    found: list[Finding] = []
    orders = list(uow.orders.iterate())
    for order in orders:
        found.extend(rules.order_findings(order, now, thresholds))
    found.extend(rules.known_issue_findings(orders, issues))
    return found


def proactive_scan(
    uow_factory: Callable[[], ProactiveUnit],
    actor: Actor,
    now: datetime,
    options: LifecycleOptions,
) -> ScanReport:
    """Find what customers will complain about and open one case per finding, ever.

    Each case is opened (with the customer's notice, when the desk notifies first) in its
    own transaction with its finding's unique key, so two scans never open it twice. A
    finding the customer already has an open case about (the same order and issue) opens
    nothing and tells them nothing: it is counted as known. The planner's recommendation is
    added after; a scan that finds a case without one retries.
    """
    actor.require(Permission.WRITE_CASES)
    with uow_factory() as uow:
        findings = _findings(uow, now, options.scan)
        known = {f.key: uow.lifecycle.finding(f.key) for f in findings}
    opened: list[int] = []
    errors: list[str] = []
    already = recommended = 0
    for finding in findings:
        record = known[finding.key]
        if record is None:
            try:
                record = _open_proactive_case(uow_factory(), actor, now, finding, options)
            except DomainError as exc:
                if exc.code is ErrorCode.CONFLICT:
                    already += 1  # another scan opened it a moment ago
                else:
                    errors.append(f"{finding.key}: {exc.message}")
                continue
            if record is None:
                already += 1  # the customer's own open case is about it
                continue
            assert record.case_id is not None
            opened.append(record.case_id)
        else:
            already += 1
        if (
            record.recommendation is None
            and record.case_id is not None
            and _recommend(uow_factory, actor, now, record, errors)
        ):
            recommended += 1
    return ScanReport(len(findings), opened, already, recommended, errors)


@command
def _open_proactive_case(
    uow: ProactiveUnit, actor: Actor, now: datetime, finding: Finding, options: LifecycleOptions
) -> FindingRecord | None:
    """The case opened for the finding, or None when an open case is about it already."""
    with uow:
        if uow.customers.get(finding.customer_id) is None:
            raise NotFound("customer", finding.customer_id)
        if rules.open_case_about(finding, _live_cases(uow, finding.customer_id)) is not None:
            return None
        fields: dict[str, Any] = {
            rules.ISSUE_TYPE_FIELD: finding.issue_type,
            "finding": finding.key,
        }
        if finding.kind is FindingKind.KNOWN_ISSUE:
            fields[rules.KNOWN_ISSUE_FIELD] = str(finding.facts["issue"])
        case = Case(
            id=None,
            subject=finding.subject[:500],
            customer_id=finding.customer_id,
            created_at=now,
            updated_at=now,
            channel=Channel.PROACTIVE,
            tags=[PROACTIVE_TAG, f"proactive:{finding.kind.value}".replace("_", "-")],
            order_ids=[finding.order_id] if finding.order_id else [],
            custom_fields=fields,
        )
        uow.cases.add(case)
        assert case.id is not None
        record = built_from(FindingRecord, finding, id=None, case_id=case.id, created_at=now)
        uow.lifecycle.add_finding(record)
        case.opened(
            actor,
            now,
            by_customer=False,
            audit_after={"finding": finding.key, "facts": finding.facts},
        )
        add_note(uow, case, now, "Found by the proactive scan. Facts: " + _describe(finding.facts))
        if options.notify_customer:
            # The desk's first reply (its clock is met), mailed through the durable queue
            # with the case: both or neither.
            notice = Message(
                id=None,
                case_id=case.id,
                kind=MessageKind.OUTBOUND,
                body=finding.notice,
                created_at=now,
            )
            case.receive_message(
                notice, now, actor, audit_after={"kind": "outbound", "proactive": True}
            )
            uow.cases.add_message(notice)
            uow.cases.save(case)
        uow.commit()
        return record


def _live_cases(uow: ProactiveUnit, customer_id: str) -> Iterator[Case]:
    filters = CaseFilter(status=rules.LIVE_STATUSES, customer_id=customer_id)
    cursor = None
    while True:
        page = uow.cases.find(filters, 100, cursor)
        yield from page.items
        cursor = page.next_cursor
        if cursor is None:
            return


def _describe(facts: dict[str, Any]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in facts.items())


def _recommend(
    uow_factory: Callable[[], ProactiveUnit],
    actor: Actor,
    now: datetime,
    record: FindingRecord,
    errors: list[str],
) -> bool:
    assert record.case_id is not None
    try:
        plan = grants.plan_case(uow_factory(), PLANNER, now, record.case_id)
    except DomainError as exc:
        errors.append(f"{record.key}: no recommendation: {exc.message}")
        return False
    offers = plan.ranking.offers
    best = offers[0] if offers else None
    recommendation: dict[str, Any] = {
        "policy_version": plan.policy_version,
        "remedies": best.remedy_ids if best else [],
        "cost": str(best.cost) if best else "0",
        "expected_value": str(best.expected_value) if best else "0",
        "may_grant": best.decision.may_grant if best else False,
        "approver_role": best.decision.approver_role if best else None,
        "reasons": list(best.reasons) if best else [],
        "rules": best.rules if best else [],
    }
    with uow_factory() as uow:
        stored = uow.lifecycle.finding(record.key)
        if stored is None or stored.recommendation is not None:
            return False
        stored.recommendation = recommendation
        uow.lifecycle.save_finding(stored)
        case = get_case(uow, record.case_id)
        text = (
            f"Recommended remedy: {', '.join(recommendation['remedies'])} "
            f"(cost {recommendation['cost']}). " + " ".join(recommendation["reasons"])
            if best
            else "The planner found no remedy the front line may grant for this finding."
        )
        add_note(uow, case, now, text)
        publish_change(
            uow,
            actor,
            now,
            "proactive.recommended",
            "case",
            record.case_id,
            case_id=record.case_id,
            after=recommendation,
        )
        uow.commit()
    return True


def list_findings(uow: ProactiveUnit, actor: Actor, limit: int = 100) -> list[FindingRecord]:
    return read(uow, actor, Permission.READ, lambda u: u.lifecycle.findings(limit))
