"""Proactive findings: what customers will complain about, found in their orders first."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from caredesk.domain.cases import Case, CaseStatus
from caredesk.domain.orders import Order, OrderStatus, Shipment, TransactionType


class FindingKind(StrEnum):
    LATE_DELIVERY = "late_delivery"
    SHIPMENT_STALLED = "shipment_stalled"
    WRONG_ITEM = "wrong_item"
    REFUND_LATE = "refund_late"
    KNOWN_ISSUE = "known_issue"


# What a case opened for each kind of finding is about, in the `issue_type` the policy and
# triage use.
FINDING_ISSUE_TYPES: dict[FindingKind, str] = {
    FindingKind.LATE_DELIVERY: "late_delivery",
    FindingKind.SHIPMENT_STALLED: "where_is_my_order",
    FindingKind.WRONG_ITEM: "wrong_item",
    FindingKind.REFUND_LATE: "billing",
    FindingKind.KNOWN_ISSUE: "known_issue",
}
# The custom fields in which a case says what it is about (triage writes them too).
ISSUE_TYPE_FIELD = "issue_type"
KNOWN_ISSUE_FIELD = "known_issue"
# Cases still being worked on: a solved or closed case is done with its matter.
LIVE_STATUSES = (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.PENDING, CaseStatus.ON_HOLD)


@dataclass(frozen=True, slots=True)
class Finding:
    """Something a customer will complain about; `key` names it once and for all."""

    kind: FindingKind
    key: str
    customer_id: str
    order_id: str | None
    subject: str
    facts: dict[str, Any]
    notice: str

    @property
    def issue_type(self) -> str:
        return FINDING_ISSUE_TYPES[self.kind]


def open_case_about(finding: Finding, cases: Iterable[Case]) -> Case | None:
    """The customer's open case about the finding's order and issue, if there is one.

    The customer (or the desk) is already talking about it there: a second case would split
    the story and tell the customer again what they told us. A solved or closed case
    covers nothing, so a problem that outlives its case is raised again.
    """
    if finding.order_id is None:
        return None
    for case in cases:
        if (
            case.customer_id == finding.customer_id
            and case.status in LIVE_STATUSES
            and finding.order_id in case.order_ids
            and case.custom_fields.get(ISSUE_TYPE_FIELD) == finding.issue_type
            and (finding.kind is not FindingKind.KNOWN_ISSUE or _names_issue(case, finding))
        ):
            return case
    return None


def _names_issue(case: Case, finding: Finding) -> bool:
    key = str(finding.facts["issue"])
    named = str(case.custom_fields.get(KNOWN_ISSUE_FIELD) or "")
    return key in (k.strip() for k in named.split(",")) or f"known-issue:{key}" in case.tags


@dataclass(frozen=True, slots=True)
class ScanThresholds:
    stall_days: int = 5
    refund_days: int = 7


@dataclass(frozen=True, slots=True)
class IssueRef:
    """A known issue as the scan needs it (the domain KnownIssue carries more)."""

    key: str
    title: str
    product_ids: frozenset[str]
    variant_ids: frozenset[str]


_CLOSED_ORDER = frozenset({OrderStatus.CANCELLED, OrderStatus.DELIVERED})


def order_findings(order: Order, now: datetime, thresholds: ScanThresholds) -> list[Finding]:
    """What is wrong with one order's shipments and refunds, as of `now`."""
    found: list[Finding] = []
    for index, shipment in enumerate(order.shipments):
        late = _late_shipment(order, index, shipment, now, thresholds)
        if late is not None:
            found.append(late)
        wrong = _wrong_item(order, index, shipment)
        if wrong is not None:
            found.append(wrong)
    refunded_late = _refund_late(order, now, thresholds)
    if refunded_late is not None:
        found.append(refunded_late)
    return found


def _shipment_facts(order: Order, index: int, shipment: Shipment) -> dict[str, Any]:
    return {"order_id": order.id, "shipment": index, "tracking": shipment.tracking_ids}


def _late_shipment(
    order: Order, index: int, shipment: Shipment, now: datetime, thresholds: ScanThresholds
) -> Finding | None:
    """A shipment past its promised date or, short of that, one that stopped moving."""
    if shipment.delivered_at is not None or order.status in _CLOSED_ORDER:
        return None
    base = _shipment_facts(order, index, shipment)
    if shipment.promised_date is not None and shipment.promised_date < now.date():
        return Finding(
            FindingKind.LATE_DELIVERY,
            f"late_delivery:{order.id}:{index}",
            order.customer_id,
            order.id,
            f"Order {order.id} is late: promised for {shipment.promised_date}",
            {**base, "promised_date": shipment.promised_date.isoformat()},
            f"Your order {order.id} was promised for {shipment.promised_date} and has "
            "not arrived yet. We are on it and will make it right.",
        )
    stalled_after = timedelta(days=thresholds.stall_days)
    if shipment.shipped_at is None or now - shipment.shipped_at <= stalled_after:
        return None
    days = (now - shipment.shipped_at).days
    tracking = ", ".join(shipment.tracking_ids) or "no tracking"
    return Finding(
        FindingKind.SHIPMENT_STALLED,
        f"shipment_stalled:{order.id}:{index}",
        order.customer_id,
        order.id,
        f"Shipment of order {order.id} has not moved for {days} days",
        {**base, "shipped_at": shipment.shipped_at.isoformat(), "days": days},
        f"The shipment of your order {order.id} ({tracking}) has been on its way "
        f"for {days} days. We are checking with the carrier.",
    )


def _wrong_item(order: Order, index: int, shipment: Shipment) -> Finding | None:
    ordered = {line.variant_id for line in order.lines}
    strays = [v for v in shipment.variant_ids if v not in ordered]
    if not strays:
        return None
    return Finding(
        FindingKind.WRONG_ITEM,
        f"wrong_item:{order.id}:{index}",
        order.customer_id,
        order.id,
        f"Order {order.id} shipped an item that was not ordered",
        {**_shipment_facts(order, index, shipment), "shipped": strays, "ordered": sorted(ordered)},
        f"We shipped your order {order.id} with an item you did not order. "
        "Sorry: we will send the right one.",
    )


def _refund_late(order: Order, now: datetime, thresholds: ScanThresholds) -> Finding | None:
    if order.status is not OrderStatus.CANCELLED or order.amount_paid <= 0:
        return None
    stamps = [p.created_at for p in order.payments if p.created_at is not None]
    cancelled_at = order.details.get("cancelled_at")
    since = (
        datetime.fromisoformat(cancelled_at)
        if isinstance(cancelled_at, str)
        else max(stamps, default=order.placed_at)
    )
    if since is None or now - since <= timedelta(days=thresholds.refund_days):
        return None
    refunds = [p for p in order.payments if p.transaction_type is TransactionType.REFUND]
    return Finding(
        FindingKind.REFUND_LATE,
        f"refund_late:{order.id}",
        order.customer_id,
        order.id,
        f"Refund for cancelled order {order.id} is not complete",
        {
            "order_id": order.id,
            "outstanding": str(order.amount_paid),
            "refunds": len(refunds),
            "since": since.isoformat(),
        },
        f"The refund for your cancelled order {order.id} should have reached you by now. "
        "We are completing it.",
    )


def known_issue_findings(orders: Sequence[Order], issues: Sequence[IssueRef]) -> list[Finding]:
    """One finding per customer and known issue that touches a product they received."""
    found: dict[str, Finding] = {}
    for order in orders:
        if order.status is not OrderStatus.DELIVERED:
            continue
        for line in order.lines:
            for issue in issues:
                if line.variant_id not in issue.variant_ids and (
                    line.product_id not in issue.product_ids
                ):
                    continue
                key = f"known_issue:{issue.key}:{order.customer_id}"
                if key in found:
                    continue
                found[key] = Finding(
                    FindingKind.KNOWN_ISSUE,
                    key,
                    order.customer_id,
                    order.id,
                    f"Known issue affects your {line.name}: {issue.title}",
                    {
                        "issue": issue.key,
                        "order_id": order.id,
                        "product_id": line.product_id,
                        "variant_id": line.variant_id,
                    },
                    f"We found a problem that affects the {line.name} you bought "
                    f"({issue.title}). We will be in touch about how we make it right.",
                )
    return list(found.values())


@dataclass(slots=True)
class FindingRecord:
    """A finding the scan acted on: the case it opened and the remedy the planner advised."""

    id: int | None
    key: str
    kind: FindingKind
    customer_id: str
    order_id: str | None
    case_id: int | None
    facts: dict[str, Any]
    created_at: datetime
    recommendation: dict[str, Any] | None = None
