"""The case lifecycle beyond its status: handoffs, repeat asks, commitments, proactive
findings, and the rules for replies to solved cases, merges and splits.

Everything here is pure: the caller passes `now`, the time zone and the thresholds in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from caredesk.domain.cases import Case, CaseStatus, Message, MessageKind
from caredesk.domain.errors import DomainError, ErrorCode, ValidationFailed
from caredesk.domain.orders import Order, OrderStatus, TransactionType

# --- Escalation and handoff ---------------------------------------------------------------

MAX_SUMMARY = 5000
MAX_QUESTION = 1000


@dataclass(frozen=True, slots=True)
class HandoffFacts:
    """What the desk already knows, so the receiving side never asks the customer again."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    tried: list[str] = field(default_factory=list)
    grants: list[str] = field(default_factory=list)
    attachments: int = 0
    customer_contacts: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "orders": list(self.orders),
            "products": list(self.products),
            "tried": list(self.tried),
            "grants": list(self.grants),
            "attachments": self.attachments,
            "customer_contacts": list(self.customer_contacts),
        }


def draft_handoff_summary(subject: str, facts: HandoffFacts, open_question: str) -> str:
    """A summary the agent can accept as is: the story in the order a reader needs it."""
    lines = [f"Case: {subject}"]
    if facts.orders:
        described = ", ".join(f"{o['id']} ({o['status']})" for o in facts.orders)
        lines.append(f"Orders: {described}")
    if facts.products:
        lines.append(f"Products: {', '.join(facts.products)}")
    if facts.attachments:
        lines.append(f"Customer already sent {facts.attachments} attachment(s).")
    lines.append("Tried so far: " + ("; ".join(facts.tried) if facts.tried else "nothing yet"))
    if facts.grants:
        lines.append(f"Granted: {'; '.join(facts.grants)}")
    if open_question.strip():
        lines.append(f"Open question: {open_question.strip()}")
    return "\n".join(lines)


def check_handoff(summary: str, open_question: str) -> tuple[str, str]:
    summary, open_question = summary.strip(), open_question.strip()
    if not summary:
        raise ValidationFailed("a handoff needs a summary", details={"field": "summary"})
    if len(summary) > MAX_SUMMARY:
        raise ValidationFailed(
            f"summary is longer than {MAX_SUMMARY} characters", details={"field": "summary"}
        )
    if len(open_question) > MAX_QUESTION:
        raise ValidationFailed(
            f"open question is longer than {MAX_QUESTION} characters",
            details={"field": "open_question"},
        )
    return summary, open_question


# --- Repeat asks --------------------------------------------------------------------------


class AskKind(StrEnum):
    ORDER_NUMBER = "order_number"
    ADDRESS = "address"
    PHOTOS = "photos"
    EMAIL = "email"
    PHONE = "phone"


@dataclass(frozen=True, slots=True)
class KnownToDesk:
    """Which facts the desk holds for a case when an agent writes to the customer."""

    order_number: bool = False
    address: bool = False
    photos: bool = False
    email: bool = False
    phone: bool = False

    def has(self, kind: AskKind) -> bool:
        return bool(getattr(self, kind.value))


# An ask is a request verb or a question word close before the thing asked for; a mention
# alone ("your order number is 123") is not an ask.
_REQUEST = (
    r"(?:send|provide|share|give|tell|confirm|reply\s+with|let\s+(?:me|us)\s+know|"
    r"forward|attach|upload|include|need|require|what(?:'s|\s+is|\s+was)|which\s+is|"
    r"can\s+i\s+(?:have|get)|may\s+i\s+have|could\s+i\s+(?:have|get))"
)
_GAP = r"[^.?!\n]{0,60}?"
_ASKED_FOR: dict[AskKind, str] = {
    AskKind.ORDER_NUMBER: r"(?:order\s*(?:number|no\.?|#|id|reference)|order\s+confirmation)",
    AskKind.ADDRESS: r"(?:(?:shipping|delivery|postal|home|mailing)\s+)?address(?!\s*book)",
    AskKind.PHOTOS: r"(?:photos?|pictures?|images?|screenshots?|snapshots?)",
    AskKind.EMAIL: r"(?:e-?mail(?:\s+address)?)",
    AskKind.PHONE: r"(?:phone(?:\s+number)?|mobile\s+number|telephone\s+number)",
}
_ASK_PATTERNS = {
    kind: re.compile(rf"\b{_REQUEST}\b{_GAP}\b{noun}", re.IGNORECASE)
    for kind, noun in _ASKED_FOR.items()
}


def _address_pattern_hit(text: str) -> bool:
    # "email address" is an ask for email, not for a postal address.
    match = _ASK_PATTERNS[AskKind.ADDRESS].search(text)
    while match is not None:
        before = text[max(0, match.start()) : match.end()].lower()
        if not re.search(r"e-?mail\s+address$", before):
            return True
        match = _ASK_PATTERNS[AskKind.ADDRESS].search(text, match.end())
    return False


def asked_for(body: str) -> list[AskKind]:
    """What an outbound message asks the customer for, in a fixed order."""
    found = []
    for kind, pattern in _ASK_PATTERNS.items():
        hit = _address_pattern_hit(body) if kind is AskKind.ADDRESS else bool(pattern.search(body))
        if hit:
            found.append(kind)
    return found


def detect_repeat_asks(body: str, known: KnownToDesk) -> list[AskKind]:
    """The asks in an outbound message for something the desk already has: each one a defect."""
    return [kind for kind in asked_for(body) if known.has(kind)]


# --- Commitments --------------------------------------------------------------------------


class CommitmentKind(StrEnum):
    CALLBACK = "callback"
    REFUND = "refund"
    DELIVERY = "delivery"
    REPLY = "reply"
    OTHER = "other"


class CommitmentStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    CANCELLED = "cancelled"
    MISSED = "missed"


@dataclass(frozen=True, slots=True)
class DetectedCommitment:
    kind: CommitmentKind
    due_at: datetime
    text: str


@dataclass(slots=True)
class Commitment:
    id: int | None
    case_id: int
    kind: CommitmentKind
    description: str
    due_at: datetime
    owner_agent_id: int | None
    created_at: datetime
    created_by: str
    status: CommitmentStatus = CommitmentStatus.OPEN
    source: str = "manual"
    message_id: int | None = None
    alerted_at: datetime | None = None
    resolved_at: datetime | None = None

    def __post_init__(self) -> None:
        self.description = self.description.strip()
        if not self.description:
            raise ValidationFailed(
                "a commitment needs a description", details={"field": "description"}
            )
        if len(self.description) > 1000:
            raise ValidationFailed(
                "description is longer than 1000 characters", details={"field": "description"}
            )
        if self.due_at.tzinfo is None:
            raise ValidationFailed("due_at needs a time zone offset", details={"field": "due_at"})

    def snapshot(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "description": self.description,
            "due_at": self.due_at.isoformat(),
            "owner_agent_id": self.owner_agent_id,
            "status": self.status.value,
        }

    def resolve(self, status: CommitmentStatus, now: datetime) -> None:
        """Keep or cancel an open commitment; a resolved one stays as it was settled."""
        if status not in (CommitmentStatus.KEPT, CommitmentStatus.CANCELLED):
            raise ValidationFailed(
                "a commitment is resolved as kept or cancelled", details={"field": "status"}
            )
        if self.status is not CommitmentStatus.OPEN:
            raise DomainError(
                f"commitment {self.id} is already {self.status.value}",
                code=ErrorCode.INVALID_TRANSITION,
                details={"from": self.status.value, "to": status.value},
            )
        self.status = status
        self.resolved_at = now

    def at_risk(self, now: datetime, warning: timedelta) -> bool:
        """Open, not yet alerted, and due within the warning window (but not yet missed)."""
        return (
            self.status is CommitmentStatus.OPEN
            and self.alerted_at is None
            and now < self.due_at <= now + warning
        )

    def missed(self, now: datetime) -> bool:
        return self.status is CommitmentStatus.OPEN and self.due_at <= now


_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = [
    "january", "february", "march", "april", "may", "june", "july",
    "august", "september", "october", "november", "december",
]  # fmt: skip
END_OF_DAY = time(17, 0)

_DAY = re.compile(
    r"\b(?P<day>today|tonight|tomorrow|(?:"
    + "|".join(_WEEKDAYS)
    + r")|end\s+of\s+(?:the\s+)?(?:day|week))\b",
    re.IGNORECASE,
)
_CLOCK = re.compile(
    r"\b(?P<clock>noon|midday|\d{1,2}(?::\d{2})?\s*(?:a\.?m\b\.?|p\.?m\b\.?)|\d{1,2}:\d{2})",
    re.IGNORECASE,
)
# The words after the promise, where its time is said ("back tomorrow by 5pm").
_TAIL = r"(?P<when>[^.?!\n]{0,50})"
_WE = r"\b(?:i|we)(?:'ll|\s+will|\s+shall|\s+am\s+going\s+to|\s+are\s+going\s+to)\s+"
_COMMITMENT_PATTERNS: list[tuple[CommitmentKind, re.Pattern[str]]] = [
    (
        CommitmentKind.CALLBACK,
        re.compile(
            _WE + r"(?:give\s+you\s+a\s+call|call\s+you|ring\s+you|phone\s+you)\b" + _TAIL,
            re.IGNORECASE,
        ),
    ),
    (
        CommitmentKind.REPLY,
        re.compile(
            _WE + r"(?:get\s+back\s+to\s+you|reply|respond|write\s+back|update\s+you|"
            r"follow\s+up|let\s+you\s+know|email\s+you)\b" + _TAIL,
            re.IGNORECASE,
        ),
    ),
    (
        CommitmentKind.DELIVERY,
        re.compile(
            r"\b(?:it|your\s+(?:order|package|parcel|replacement|item))\s+will\s+"
            r"(?:arrive|be\s+delivered|reach\s+you)\b" + _TAIL,
            re.IGNORECASE,
        ),
    ),
]
_REFUND_WITHIN = re.compile(
    r"\b(?:(?:i|we)(?:'ll|\s+will)\s+(?:refund|issue\s+(?:a|the|your)\s+refund)|"
    r"(?:your|the)\s+refund\s+will\s+(?:be\s+(?:issued|processed|completed|on\s+its\s+way)|"
    r"arrive|reach\s+you|show\s+up))"
    r"[^.?!\n]{0,40}?\bwithin\s+(?P<n>\d{1,2}|one|two|three|four|five|seven|ten|fourteen)"
    r"\s+(?P<unit>business\s+days?|working\s+days?|days?|hours?)",
    re.IGNORECASE,
)
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "seven": 7, "ten": 10, "fourteen": 14,
}  # fmt: skip
# Hedged promises are not commitments: the desk counts only what was clearly promised.
_HEDGE = re.compile(r"\b(?:try|might|may|hopefully|perhaps|maybe|if\s+possible)\b", re.I)


def _clock_time(clock: str) -> time:
    text = clock.lower().replace(".", "").replace(" ", "")
    if text in ("noon", "midday"):
        return time(12, 0)
    suffix = text[-2:] if text.endswith(("am", "pm")) else ""
    digits = text[:-2] if suffix else text
    hour_text, _, minute_text = digits.partition(":")
    hour, minute = int(hour_text), int(minute_text or 0)
    if suffix == "pm" and hour < 12:
        hour += 12
    if suffix == "am" and hour == 12:
        hour = 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(clock)
    return time(hour, minute)


def _resolve_day(day: str, today: date) -> date:
    day = " ".join(day.lower().split())
    if day in ("today", "tonight", "end of day", "end of the day"):
        return today
    if day == "tomorrow":
        return today + timedelta(days=1)
    if day in ("end of week", "end of the week"):
        return today + timedelta(days=(4 - today.weekday()) % 7)
    name = day.split()[-1]
    # A weekday means the coming one; said on that very weekday, it means a week on.
    ahead = (_WEEKDAYS.index(name) - today.weekday()) % 7 or 7
    return today + timedelta(days=ahead)


def _due(when: str, now: datetime, tz: tzinfo) -> datetime | None:
    """When a promise falls due, from the words that follow it; None when no time is said."""
    day_match, clock_match = _DAY.search(when), _CLOCK.search(when)
    if day_match is None and clock_match is None:
        return None
    local_now = now.astimezone(tz)
    try:
        at = _clock_time(clock_match.group("clock")) if clock_match else END_OF_DAY
    except ValueError:
        return None
    day = day_match.group("day") if day_match else None
    target = _resolve_day(day, local_now.date()) if day else local_now.date()
    due = datetime.combine(target, at, tzinfo=tz)
    if due <= local_now:
        if day is None:
            # "by 5pm" said after five means tomorrow's five.
            due = datetime.combine(target + timedelta(days=1), at, tzinfo=tz)
        else:
            return None
    return due


def detect_commitments(body: str, now: datetime, tz: tzinfo) -> list[DetectedCommitment]:
    """The clear promises in an outbound message, with when each falls due.

    Conservative by design: a first-person promise with an explicit time; anything hedged
    ("I'll try to call…") or vague ("soon") is left for the agent to record by hand.
    """
    found: list[DetectedCommitment] = []
    for sentence in re.split(r"(?<=[.?!])\s+|\n+", body):
        if _HEDGE.search(sentence):
            continue
        for kind, pattern in _COMMITMENT_PATTERNS:
            match = pattern.search(sentence)
            if match is None:
                continue
            due = _due(match.group("when"), now, tz)
            if due is not None:
                found.append(DetectedCommitment(kind, due, match.group(0).strip()))
                break
        else:
            refund = _REFUND_WITHIN.search(sentence)
            if refund is not None:
                count_text = refund.group("n").lower()
                count = _NUMBER_WORDS.get(count_text) or int(count_text)
                unit = refund.group("unit").lower()
                if unit.startswith("hour"):
                    due = now + timedelta(hours=count)
                elif unit.startswith(("business", "working")):
                    due = add_business_days(now.astimezone(tz), count)
                else:
                    due = now + timedelta(days=count)
                found.append(DetectedCommitment(CommitmentKind.REFUND, due, refund.group(0)))
    return found


def add_business_days(start: datetime, days: int) -> datetime:
    """Monday to Friday days after `start`, at the same wall-clock time."""
    current = start
    left = days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


# --- Replies to solved cases --------------------------------------------------------------


class ReplyDisposition(StrEnum):
    APPEND = "append"  # an ordinary reply to a live case
    REOPEN = "reopen"  # a solved case, within the grace period
    FOLLOW_UP = "follow_up"  # too late (or closed): a new case linked to the old one


def reply_disposition(case: Case, now: datetime, grace: timedelta) -> ReplyDisposition:
    """Where a customer's reply goes, so first-contact resolution is not distorted."""
    if case.status is CaseStatus.CLOSED:
        return ReplyDisposition.FOLLOW_UP
    if case.status is CaseStatus.SOLVED:
        solved_at = case.solved_at or case.updated_at
        return ReplyDisposition.REOPEN if now - solved_at <= grace else ReplyDisposition.FOLLOW_UP
    return ReplyDisposition.APPEND


# --- Merge and split ----------------------------------------------------------------------


class LinkKind(StrEnum):
    MERGED_INTO = "merged_into"  # source case → the case it was merged into
    SPLIT_FROM = "split_from"  # new case → the case its messages came from
    FOLLOW_UP_OF = "follow_up_of"  # new case → the solved or closed case it follows


@dataclass(slots=True)
class CaseLink:
    id: int | None
    kind: LinkKind
    case_id: int
    other_case_id: int
    created_at: datetime
    created_by: str
    message_ids: list[int] = field(default_factory=list)
    grant_ids: list[int] = field(default_factory=list)
    # The case's state before a merge closed it, so an unmerge puts it back exactly.
    prior: dict[str, Any] = field(default_factory=dict)
    undone_at: datetime | None = None
    undone_by: str | None = None

    def undo(self, actor_ref: str, now: datetime) -> None:
        if self.kind is LinkKind.FOLLOW_UP_OF:
            raise DomainError(
                "a follow-up link records history and cannot be undone",
                code=ErrorCode.CANNOT_MERGE,
                details={"link_id": self.id},
            )
        if self.undone_at is not None:
            raise DomainError(
                f"this {self.kind.value.replace('_', ' ')} was already undone",
                code=ErrorCode.ALREADY_UNDONE,
                details={"link_id": self.id, "undone_at": self.undone_at.isoformat()},
            )
        self.undone_at = now
        self.undone_by = actor_ref


def check_merge(
    target: Case,
    sources: Sequence[Case],
    *,
    merged_away: Iterable[int],
    force: bool,
    may_force: bool,
) -> None:
    """Refuse a merge that would lose or mix up a story, before anything changes."""
    if not sources:
        raise ValidationFailed(
            "name at least one case to merge", details={"field": "source_case_ids"}
        )
    gone = set(merged_away)
    ids = [c.id for c in sources]
    if target.id in ids:
        raise DomainError(
            "a case cannot be merged into itself",
            code=ErrorCode.CANNOT_MERGE,
            details={"case_id": target.id},
        )
    if len(set(ids)) != len(ids):
        raise ValidationFailed("a case is named twice", details={"field": "source_case_ids"})
    for case in [target, *sources]:
        if case.id in gone:
            raise DomainError(
                f"case {case.id} was already merged into another case",
                code=ErrorCode.CANNOT_MERGE,
                details={"case_id": case.id},
            )
    if target.status is CaseStatus.CLOSED:
        raise DomainError(
            "a closed case cannot take in other cases",
            code=ErrorCode.CANNOT_MERGE,
            details={"case_id": target.id, "status": target.status.value},
        )
    strangers = sorted({c.customer_id for c in sources if c.customer_id != target.customer_id})
    if strangers:
        if not force:
            raise DomainError(
                "these cases belong to different customers; an admin may force the merge",
                code=ErrorCode.DIFFERENT_CUSTOMERS,
                details={"customer_id": target.customer_id, "others": strangers},
            )
        if not may_force:
            raise DomainError(
                "only an admin may merge cases of different customers",
                code=ErrorCode.FORBIDDEN,
                details={"customer_id": target.customer_id, "others": strangers},
            )


def check_split(messages: Sequence[Message], message_ids: Sequence[int]) -> list[Message]:
    """The messages to move into a new case; the case must keep at least one of its own."""
    if not message_ids:
        raise ValidationFailed("name the messages to split off", details={"field": "message_ids"})
    by_id = {m.id: m for m in messages}
    unknown = [i for i in message_ids if i not in by_id]
    if unknown:
        raise DomainError(
            "these messages are not on the case",
            code=ErrorCode.CANNOT_SPLIT,
            details={"message_ids": unknown},
        )
    chosen = set(message_ids)
    if len(chosen) >= len(messages):
        raise DomainError(
            "the case's only messages cannot be split off: it would be left empty",
            code=ErrorCode.CANNOT_SPLIT,
            details={"messages_on_case": len(messages)},
        )
    moved = [m for m in messages if m.id in chosen]
    if all(m.kind is MessageKind.NOTE for m in moved):
        raise DomainError(
            "a new case needs at least one message to or from the customer, not only notes",
            code=ErrorCode.CANNOT_SPLIT,
            details={"message_ids": sorted(chosen)},
        )
    return moved


def close_as_merged(case: Case, target_id: int, now: datetime) -> dict[str, Any]:
    """Close a merged-away case (whatever its status) and return what an unmerge restores.

    This bypasses the status machine on purpose: a merge is not a resolution, and an
    unmerge must bring the case back exactly as it was, even from closed.
    """
    prior = {
        "status": case.status.value,
        "solved_at": case.solved_at.isoformat() if case.solved_at else None,
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
    }
    case.status = CaseStatus.CLOSED
    case.closed_at = now
    case.custom_fields = {**case.custom_fields, "merged_into": target_id}
    case.updated_at = now
    return prior


def restore_after_unmerge(case: Case, prior: dict[str, Any], now: datetime) -> None:
    case.status = CaseStatus(prior["status"])
    case.solved_at = datetime.fromisoformat(prior["solved_at"]) if prior["solved_at"] else None
    case.closed_at = datetime.fromisoformat(prior["closed_at"]) if prior["closed_at"] else None
    case.custom_fields = {k: v for k, v in case.custom_fields.items() if k != "merged_into"}
    case.updated_at = now


# --- Proactive findings -------------------------------------------------------------------


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
    the conversation and tell the customer again what they told us. A solved or closed case
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
    ordered = {line.variant_id for line in order.lines}
    for index, shipment in enumerate(order.fulfilments):
        delivered = shipment.delivered_at is not None
        tracking = ", ".join(shipment.tracking_ids) or "no tracking"
        base = {"order_id": order.id, "shipment": index, "tracking": shipment.tracking_ids}
        if (
            not delivered
            and order.status not in _CLOSED_ORDER
            and shipment.promised_date is not None
            and shipment.promised_date < now.date()
        ):
            found.append(
                Finding(
                    FindingKind.LATE_DELIVERY,
                    f"late_delivery:{order.id}:{index}",
                    order.customer_id,
                    order.id,
                    f"Order {order.id} is late: promised for {shipment.promised_date}",
                    {**base, "promised_date": shipment.promised_date.isoformat()},
                    f"Your order {order.id} was promised for {shipment.promised_date} and has "
                    "not arrived yet. We are on it and will make it right.",
                )
            )
        elif (
            not delivered
            and order.status not in _CLOSED_ORDER
            and shipment.shipped_at is not None
            and now - shipment.shipped_at > timedelta(days=thresholds.stall_days)
        ):
            days = (now - shipment.shipped_at).days
            found.append(
                Finding(
                    FindingKind.SHIPMENT_STALLED,
                    f"shipment_stalled:{order.id}:{index}",
                    order.customer_id,
                    order.id,
                    f"Shipment of order {order.id} has not moved for {days} days",
                    {**base, "shipped_at": shipment.shipped_at.isoformat(), "days": days},
                    f"The shipment of your order {order.id} ({tracking}) has been on its way "
                    f"for {days} days. We are checking with the carrier.",
                )
            )
        strays = [v for v in shipment.variant_ids if v not in ordered]
        if strays:
            found.append(
                Finding(
                    FindingKind.WRONG_ITEM,
                    f"wrong_item:{order.id}:{index}",
                    order.customer_id,
                    order.id,
                    f"Order {order.id} shipped an item that was not ordered",
                    {**base, "shipped": strays, "ordered": sorted(ordered)},
                    f"We shipped your order {order.id} with an item you did not order. "
                    "Sorry: we will send the right one.",
                )
            )
    refunded_late = _refund_late(order, now, thresholds)
    if refunded_late is not None:
        found.append(refunded_late)
    return found


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


# --- Stored records -----------------------------------------------------------------------


@dataclass(slots=True)
class Handoff:
    """An escalation: who it went to, the summary they read, the facts and the open question."""

    id: int | None
    case_id: int
    summary: str
    open_question: str
    facts: dict[str, Any]
    drafted: bool
    created_by: str
    created_at: datetime
    from_agent_id: int | None = None
    to_team_id: int | None = None
    to_agent_id: int | None = None


@dataclass(frozen=True, slots=True)
class RepeatAsk:
    id: int | None
    case_id: int
    message_id: int
    agent_id: int | None
    kind: AskKind
    created_at: datetime


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
