"""Commitments: the promises made to a customer, and the clear ones read from an answer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from caredesk.domain.errors import DomainError, ErrorCode, ValidationFailed


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
