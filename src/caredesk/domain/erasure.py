"""Erasure and retention: what replaces a person's data, and which data a rule ages out.

Erasing a customer keeps the facts the books and the audit trail need (amounts, order
totals, who did what and when) and replaces everything that identifies or quotes the
person with a tombstone. The rules here are pure: the database work is in the adapter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Self

from caredesk.domain.errors import ValidationFailed

ERASED_TEXT = "[erased]"
TOMBSTONE_FIRST_NAME = "Erased customer"

# Keys whose values are someone's words or identity wherever they appear in an audit
# entry's or a webhook's details: replaced whole, not searched.
FREE_TEXT_KEYS = frozenset(
    {
        "subject",
        "body",
        "body_text",
        "body_html",
        "text",
        "note",
        "summary",
        "comment",
        "description",
        "open_question",
        "question",
        "first_name",
        "last_name",
        "email",
        "emails",
        "phone",
        "phones",
        "address",
        "addresses",
        "from",
        "from_address",
        "to",
        "cc",
        "filename",
        "filenames",
        "snippet",
        "custom_fields",
    }
)

# A needle shorter than this would match inside unrelated words ("Al" in "Also").
MIN_NEEDLE = 3


@dataclass(frozen=True, slots=True)
class Tombstone:
    """What an erased customer is called from now on: unique, obviously not a person."""

    seq: int

    @property
    def first_name(self) -> str:
        return TOMBSTONE_FIRST_NAME

    @property
    def last_name(self) -> str:
        return f"#{self.seq}"

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def email(self) -> str:
        # The reserved top-level domain `.invalid` (RFC 2606): no mail can ever reach it.
        return f"erased-{self.seq}@invalid"


@dataclass(frozen=True, slots=True)
class PersonalData:
    """What identifies one customer: the strings erasure looks for beyond their own rows."""

    customer_id: str
    seq: int
    first_name: str
    last_name: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    addresses: tuple[Mapping[str, str], ...] = ()

    @property
    def tombstone(self) -> Tombstone:
        return Tombstone(self.seq)

    def identifiers(self) -> list[str]:
        """Strings that name this person and nobody else: searched for in every table."""
        full_name = f"{self.first_name} {self.last_name}".strip()
        found = [full_name, *self.emails, *self.phones]
        return _distinct(n for n in found if len(n) >= MIN_NEEDLE)

    def owned_needles(self) -> list[str]:
        """Also the parts (first name alone, an address line), searched for only in records
        that are this customer's own, where they cannot be somebody else's."""
        parts = [self.first_name, self.last_name]
        for address in self.addresses:
            parts.extend(str(v) for k, v in address.items() if k.startswith("address") and v)
        return _distinct([*self.identifiers(), *(p for p in parts if len(p) >= MIN_NEEDLE)])


def _distinct(values: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        seen.setdefault(value.strip().lower(), value.strip())
    # Longest first: "Ada Lovelace" is replaced before "Ada" could split it.
    return sorted((v for v in seen.values() if v), key=len, reverse=True)


def needle_pattern(needles: Iterable[str]) -> re.Pattern[str] | None:
    alternatives = [re.escape(n) for n in needles if n]
    if not alternatives:
        return None
    return re.compile("|".join(alternatives), re.IGNORECASE)


def scrub_text(text: str, pattern: re.Pattern[str] | None) -> str:
    """The text with every needle replaced by the erased marker."""
    if pattern is None:
        return text
    return pattern.sub(ERASED_TEXT, text)


def scrub_value(value: Any, pattern: re.Pattern[str] | None) -> Any:
    """A JSON value with the needles replaced in every string, keys and shape kept."""
    if isinstance(value, str):
        return scrub_text(value, pattern)
    if isinstance(value, list):
        return [scrub_value(v, pattern) for v in value]
    if isinstance(value, dict):
        return {k: scrub_value(v, pattern) for k, v in value.items()}
    return value


def erase_details(value: Any, pattern: re.Pattern[str] | None) -> Any:
    """An audit entry's or a webhook's details, kept as facts: numbers, flags, statuses and
    ids stay; the free-text and identity fields become the erased marker; the needles go
    from every other string."""
    if isinstance(value, dict):
        return {
            k: (_erased_field(v) if k in FREE_TEXT_KEYS else erase_details(v, pattern))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [erase_details(v, pattern) for v in value]
    return scrub_value(value, pattern)


def _erased_field(value: Any) -> Any:
    if value is None or value == "" or value == [] or value == {}:
        return value
    if isinstance(value, list):
        return [ERASED_TEXT for _ in value]
    if isinstance(value, dict):
        return {}
    if isinstance(value, bool | int | float):
        return value
    return ERASED_TEXT


def erased_address(address: Mapping[str, Any]) -> dict[str, Any]:
    """An order's delivery address with its keys kept (so code reading it still finds them)."""
    return {k: ERASED_TEXT if isinstance(v, str) and v else v for k, v in address.items()}


@dataclass(slots=True)
class ErasureCounts:
    """What an erasure or a retention run replaced or removed, per kind of record."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, n: int) -> None:
        if n:
            self.counts[kind] = self.counts.get(kind, 0) + n

    def merge(self, other: ErasureCounts) -> None:
        for kind, n in other.counts.items():
            self.add(kind, n)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))


@dataclass(frozen=True, slots=True)
class ErasureReport:
    customer_id: str
    erased_at: datetime
    already_erased: bool
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class RetentionRules:
    """How long each kind of data is kept; None (or 0 in settings) keeps it forever."""

    raw_mail_days: int | None = None
    attachment_days: int | None = None
    closed_case_days: int | None = None

    def __post_init__(self) -> None:
        for name in ("raw_mail_days", "attachment_days", "closed_case_days"):
            days = getattr(self, name)
            if days is not None and days < 0:
                raise ValidationFailed(f"{name} must be 0 or more", details={"field": name})

    @classmethod
    def of(cls, raw_mail: int | None, attachments: int | None, closed_cases: int | None) -> Self:
        def keep(days: int | None) -> int | None:
            return days if days else None

        return cls(keep(raw_mail), keep(attachments), keep(closed_cases))

    @property
    def active(self) -> bool:
        return any(
            d is not None for d in (self.raw_mail_days, self.attachment_days, self.closed_case_days)
        )

    def cutoffs(self, now: datetime) -> RetentionCutoffs:
        def before(days: int | None) -> datetime | None:
            return now - timedelta(days=days) if days is not None else None

        return RetentionCutoffs(
            raw_mail=before(self.raw_mail_days),
            attachments=before(self.attachment_days),
            closed_cases=before(self.closed_case_days),
        )


@dataclass(frozen=True, slots=True)
class RetentionCutoffs:
    """Data older than each moment goes; None keeps that kind."""

    raw_mail: datetime | None
    attachments: datetime | None
    closed_cases: datetime | None


@dataclass(frozen=True, slots=True)
class RetentionReport:
    dry_run: bool
    ran_at: datetime
    cutoffs: RetentionCutoffs
    counts: dict[str, int]
