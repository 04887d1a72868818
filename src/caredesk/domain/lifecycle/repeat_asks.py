"""Repeat asks: an answer asking the customer for what the desk already has."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


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


@dataclass(frozen=True, slots=True)
class RepeatAsk:
    id: int | None
    case_id: int
    message_id: int
    agent_id: int | None
    kind: AskKind
    created_at: datetime
