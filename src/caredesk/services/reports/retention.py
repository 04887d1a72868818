"""Retention after a remedy: did saying yes keep the customer, and what did each kind of yes
return per unit of its cost (docs/reporting.md, "Retention after a remedy")."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.errors import DomainError, ValidationFailed
from caredesk.domain.money import ZERO
from caredesk.domain.remedy_returns import Difference, Share, stratified_difference, wilson
from caredesk.services.core.ports import Transaction
from caredesk.services.engine.policy import policy_in_force
from caredesk.services.engine.unit import EngineUnit

# The group of customers whose case got no remedy, and the issue type of an untriaged case.
NO_REMEDY = "(no remedy)"
NOT_TRIAGED = "(not triaged)"
DEFAULT_WINDOWS = (30, 60, 90)
MAX_PERIOD_DAYS = 366
MAX_WINDOW_DAYS = 365


@dataclass(frozen=True, slots=True)
class RetentionCell:
    """What the database counted for one remedy, service level, issue type and value band
    over one window."""

    remedy: str
    service_level: int
    issue_type: str
    value_band: str
    window: int
    customers: int  # every customer of the group, whether the window has elapsed or not
    elapsed: int  # those solved at least `window` days ago: the window's n
    returned: int  # of those, the ones who ordered again within the window
    spend: Decimal  # what the returning ones' orders within the window came to
    cost: Decimal  # what the remedy posted as cost on those elapsed customers' cases


class RetentionQueries(Protocol):
    def retention_cells(
        self, start: datetime, end: datetime, now: datetime, windows: Sequence[int]
    ) -> list[RetentionCell]: ...


class HasRetention(Protocol):
    @property
    def retention(self) -> RetentionQueries: ...


class RetentionUnit(EngineUnit, HasRetention, Transaction, Protocol):
    """The retention report reads the cells and the policy's currency."""


Stratum = tuple[str, str]  # (issue type, value band)


@dataclass(slots=True)
class _Group:
    customers: int = 0
    spend: Decimal = ZERO
    cost: Decimal = ZERO
    strata: dict[Stratum, tuple[int, int]] = field(default_factory=dict)

    def add(self, cell: RetentionCell) -> None:
        self.customers += cell.customers
        self.spend += cell.spend
        self.cost += cell.cost
        key = (cell.issue_type, cell.value_band)
        n, k = self.strata.get(key, (0, 0))
        self.strata[key] = (n + cell.elapsed, k + cell.returned)


@dataclass(frozen=True, slots=True)
class RetentionFigure:
    """One remedy (or no remedy) at one service level (None: every level) over one window."""

    remedy: str
    service_level: int | None
    window: int
    customers: int
    share: Share
    spend: Decimal
    cost: Decimal
    # Against comparable no-remedy customers; None for the no-remedy group itself.
    comparison: Difference | None

    @property
    def not_yet(self) -> int:
        """Customers solved fewer than `window` days ago: left out of this window."""
        return self.customers - self.share.n

    @property
    def too_small(self) -> bool:
        return self.share.too_small

    @property
    def spend_per_customer(self) -> Decimal | None:
        if not self.share.n:
            return None
        return (self.spend / self.share.n).quantize(Decimal("0.01"))

    @property
    def return_per_cost(self) -> Decimal | None:
        """What the returning customers spent for each unit the remedy cost."""
        if self.cost <= ZERO:
            return None
        return (self.spend / self.cost).quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class RetentionReport:
    start: datetime
    end: datetime
    windows: tuple[int, ...]
    figures: list[RetentionFigure]
    currency: str = "USD"

    @property
    def empty(self) -> bool:
        return not self.figures

    def by_remedy(self, window: int) -> list[RetentionFigure]:
        return [f for f in self.figures if f.window == window and f.service_level is None]

    def by_level(self, window: int) -> list[RetentionFigure]:
        return [f for f in self.figures if f.window == window and f.service_level is not None]

    def figure(self, remedy: str, window: int, level: int | None = None) -> RetentionFigure:
        return next(
            f
            for f in self.figures
            if (f.remedy, f.window, f.service_level) == (remedy, window, level)
        )


def retention(
    uow: RetentionUnit,
    actor: Actor,
    now: datetime,
    start: datetime,
    end: datetime,
    windows: Sequence[int] = DEFAULT_WINDOWS,
) -> RetentionReport:
    """For the customers whose case was solved in [start, end): who ordered again within each
    window, by remedy and service level, against comparable customers whose case got none."""
    actor.require(Permission.APPROVE)
    chosen = _checked(start, end, windows)
    with uow:
        cells = uow.retention.retention_cells(start, end, now, chosen)
        try:
            currency = policy_in_force(uow).policy.currency
        except DomainError:  # no policy loaded yet: amounts read as the default currency's
            currency = "USD"
    return RetentionReport(start, end, chosen, _figures(cells, chosen), currency)


def _checked(start: datetime, end: datetime, windows: Sequence[int]) -> tuple[int, ...]:
    if end <= start:
        raise ValidationFailed(
            "the period must end after it starts", details={"field": "end", "start": str(start)}
        )
    if end - start > timedelta(days=MAX_PERIOD_DAYS):
        raise ValidationFailed(
            f"a period covers at most {MAX_PERIOD_DAYS} days",
            details={"field": "end", "max_days": MAX_PERIOD_DAYS},
        )
    chosen = tuple(sorted(set(windows)))
    if not chosen or len(chosen) > 3 or not all(1 <= w <= MAX_WINDOW_DAYS for w in chosen):
        raise ValidationFailed(
            f"one to three windows, each of 1 to {MAX_WINDOW_DAYS} days",
            details={"field": "windows", "given": list(windows)},
        )
    return chosen


def _figures(cells: Iterable[RetentionCell], windows: tuple[int, ...]) -> list[RetentionFigure]:
    """Every remedy at every level and at all levels together, for each window; the
    no-remedy group first, the remedies by name."""
    groups: dict[tuple[str, int | None, int], _Group] = {}
    for cell in cells:
        for level in (cell.service_level, None):
            groups.setdefault((cell.remedy, level, cell.window), _Group()).add(cell)
    figures = []
    for (remedy, level, window), group in sorted(groups.items(), key=_order):
        n = sum(n for n, _ in group.strata.values())
        k = sum(k for _, k in group.strata.values())
        comparison = None
        if remedy != NO_REMEDY:
            pool = groups.get((NO_REMEDY, None, window), _Group())
            comparison = stratified_difference(group.strata, pool.strata)
        figures.append(
            RetentionFigure(
                remedy,
                level,
                window,
                group.customers,
                wilson(k, n),
                group.spend.quantize(Decimal("0.01")),
                group.cost.quantize(Decimal("0.01")),
                comparison,
            )
        )
    return figures


def _order(item: tuple[tuple[str, int | None, int], _Group]) -> tuple[int, bool, bool, str, int]:
    (remedy, level, window), _ = item
    return (window, level is not None, remedy != NO_REMEDY, remedy, level or 0)
