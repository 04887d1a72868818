"""Zendesk's search language, read into a typed query: pure, no storage.

`status<solved type:ticket "paper jam" -tags:spam created>3days` is a list of terms, each
free text (a word or a quoted phrase) or a keyword with an operator (`:`, `<`, `>`, `<=`,
`>=`) and a value, any of them negated by a leading `-`. A keyword Zendesk's language does
not have here (`foo:bar`) is free text, as Zendesk reads it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from caredesk.domain.cases import CaseStatus, Priority
from caredesk.domain.errors import ValidationFailed

# Zendesk orders the statuses and the priorities; `<` and `>` compare in these orders.
STATUS_ORDER = (
    CaseStatus.NEW,
    CaseStatus.OPEN,
    CaseStatus.PENDING,
    CaseStatus.ON_HOLD,
    CaseStatus.SOLVED,
    CaseStatus.CLOSED,
)
PRIORITY_ORDER = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)
STATUS_NAMES = {"hold": CaseStatus.ON_HOLD, **{s.value: s for s in STATUS_ORDER}}
KEYWORDS = frozenset(
    {"type", "status", "priority", "tags", "requester", "assignee", "group", "created", "updated"}
)
ALIASES = {"tag": "tags"}
TYPES = frozenset({"ticket", "user"})
OPERATORS = (">=", "<=", ":", "<", ">")
QUERY_MAX = 1000
T = TypeVar("T")

_TERM = re.compile(r'(-?)(?:"([^"]*)"?|(\S+))')
_KEYWORD = re.compile(r"([A-Za-z_]+)(>=|<=|:|<|>)(.*)", re.DOTALL)
_RELATIVE = re.compile(r"(\d{1,6})(minute|hour|day|week|month|year)s?", re.IGNORECASE)
_UNIT_DAYS = {"minute": 1 / 1440, "hour": 1 / 24, "day": 1, "week": 7, "month": 30, "year": 365}


@dataclass(frozen=True, slots=True)
class Term:
    """One keyword condition: `status<solved`, `-tags:spam`."""

    keyword: str
    operator: str
    value: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A query as typed: its free text, the free text it excludes, and its keyword terms."""

    words: tuple[str, ...] = ()
    excluded_words: tuple[str, ...] = ()
    terms: tuple[Term, ...] = ()

    def of(self, keyword: str) -> list[Term]:
        return [t for t in self.terms if t.keyword == keyword]


@dataclass(frozen=True, slots=True)
class TimeRange:
    """From (inclusive) and before (exclusive); either may be open."""

    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class TicketCriteria:
    """What a ticket search asks of cases, people and groups still named as typed."""

    statuses: tuple[CaseStatus, ...] = STATUS_ORDER
    priorities: tuple[Priority, ...] = PRIORITY_ORDER
    tags_any: tuple[str, ...] = ()
    tags_none: tuple[str, ...] = ()
    requester: str | None = None
    assignee: str | None = None
    group: str | None = None
    created: TimeRange = field(default_factory=TimeRange)
    updated: TimeRange = field(default_factory=TimeRange)
    text: str | None = None
    excluded_words: tuple[str, ...] = ()


def invalid(message: str) -> ValidationFailed:
    return ValidationFailed(message, details={"field": "query"})


def parse(raw: str) -> SearchQuery:
    """The query's terms, in the order typed; an empty query is refused, as Zendesk does."""
    if len(raw) > QUERY_MAX:
        raise invalid(f"the query is longer than {QUERY_MAX} characters")
    words: list[str] = []
    excluded: list[str] = []
    terms: list[Term] = []
    for match in _TERM.finditer(raw):
        negated, phrase, bare = match.group(1) == "-", match.group(2), match.group(3)
        term = _keyword_term(bare, negated) if bare is not None else None
        if term is not None:
            terms.append(term)
            continue
        text = (phrase if phrase is not None else bare or "").strip()
        if text:
            (excluded if negated else words).append(text)
    if not (words or excluded or terms):
        raise invalid("the query is empty")
    return SearchQuery(tuple(words), tuple(excluded), tuple(terms))


def _keyword_term(bare: str, negated: bool) -> Term | None:
    found = _KEYWORD.fullmatch(bare)
    if found is None:
        return None
    keyword = ALIASES.get(found.group(1).lower(), found.group(1).lower())
    value = found.group(3).strip('"')
    if keyword not in KEYWORDS or not value:
        return None
    return Term(keyword, found.group(2), value, negated)


def _ranked(order: tuple[T, ...], names: Mapping[str, T], term: Term) -> set[T]:
    """The values of `order` that `term` allows (`status<solved`: new to on-hold)."""
    value = names.get(term.value.lower())
    if value is None:
        raise invalid(f"{term.keyword} has no value {term.value!r}")
    at = order.index(value)
    chosen = {
        ":": {value},
        "<": set(order[:at]),
        "<=": set(order[: at + 1]),
        ">": set(order[at + 1 :]),
        ">=": set(order[at:]),
    }[term.operator]
    return set(order) - chosen if term.negated else chosen


def _ordered(order: tuple[T, ...], names: Mapping[str, T], terms: list[Term]) -> tuple[T, ...]:
    """Equalities of one keyword are either-or (`status:new status:open`); comparisons and
    exclusions narrow what they leave."""
    equal = [t for t in terms if t.operator == ":" and not t.negated]
    allowed: set[T] = set(order)
    if equal:
        allowed = set()
        for term in equal:
            allowed |= _ranked(order, names, term)
    for term in terms:
        if term not in equal:
            allowed &= _ranked(order, names, term)
    return tuple(v for v in order if v in allowed)


def _moment(value: str, now: datetime) -> tuple[datetime, timedelta]:
    """The moment a date value names, and how long it lasts: a day for `2026-01-01`,
    no time for `2026-01-01T10:00:00Z`, `3days` is that long before now."""
    relative = _RELATIVE.fullmatch(value)
    if relative:
        days = int(relative.group(1)) * _UNIT_DAYS[relative.group(2).lower()]
        return now - timedelta(days=days), timedelta(0)
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time(), UTC), timedelta(days=1)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{value!r} is not a date (2026-01-31), a time or a span (3days)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC), timedelta(0)


def _time_range(terms: list[Term], now: datetime) -> TimeRange:
    """`created>3days`: within the last three days; `created<2026-01-01`: before that day;
    `created:2026-01-01`: on it. A relative span counts back from now, so `>` is later."""
    start: datetime | None = None
    end: datetime | None = None
    for term in terms:
        if term.negated:
            raise invalid(f"-{term.keyword} is not supported: use the other comparison")
        at, span = _moment(term.value, now)
        lower, upper = {
            ":": (at, at + span),
            ">": (at + span, None),
            ">=": (at, None),
            "<": (None, at),
            "<=": (None, at + span),
        }[term.operator]
        if span == timedelta(0) and term.operator == ":":
            upper = at + timedelta(seconds=1)
        if lower is not None:
            start = lower if start is None else max(start, lower)
        if upper is not None:
            end = upper if end is None else min(end, upper)
    return TimeRange(start, end)


def _one(terms: list[Term], keyword: str) -> str | None:
    values = {t.value for t in terms}
    if any(t.negated or t.operator != ":" for t in terms):
        raise invalid(f"{keyword} takes one value after a colon ({keyword}:value)")
    if len(values) > 1:
        raise invalid(f"one {keyword} at a time")
    return values.pop() if values else None


def ticket_criteria(query: SearchQuery, now: datetime) -> TicketCriteria:
    """What a ticket search over `query` asks for; a value the language has no place for is
    a 422 (`status:urgent`, `created>tomorrow`)."""
    tags = query.of("tags")
    if any(t.operator != ":" for t in tags):
        raise invalid("tags takes a colon (tags:name)")
    return TicketCriteria(
        statuses=_ordered(STATUS_ORDER, STATUS_NAMES, query.of("status")),
        priorities=_ordered(PRIORITY_ORDER, {p.value: p for p in Priority}, query.of("priority")),
        tags_any=tuple(t.value.lower() for t in tags if not t.negated),
        tags_none=tuple(t.value.lower() for t in tags if t.negated),
        requester=_one(query.of("requester"), "requester"),
        assignee=_one(query.of("assignee"), "assignee"),
        group=_one(query.of("group"), "group"),
        created=_time_range(query.of("created"), now),
        updated=_time_range(query.of("updated"), now),
        text=" ".join(query.words) or None,
        excluded_words=query.excluded_words,
    )


def check_type(query: SearchQuery) -> str:
    """The one type searched: `ticket` unless `type:user` is asked."""
    asked = {t.value.lower() for t in query.of("type")}
    if asked - TYPES or any(t.negated or t.operator != ":" for t in query.of("type")):
        raise invalid("type is ticket or user")
    if len(asked) > 1:
        raise invalid("one type at a time")
    return asked.pop() if asked else "ticket"
