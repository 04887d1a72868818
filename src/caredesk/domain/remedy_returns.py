"""What a remedy returned: the share of customers who ordered again, its 95 % interval, and the
same share among comparable customers whose case got no remedy.

Pure arithmetic on counts the database aggregated (docs/reporting.md, "Retention after a
remedy"): the Wilson interval of one share, and the difference between a remedy's share and
the no-remedy share weighted to the remedy group's mix of issue type and value band.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

# The normal quantile of a two-sided 95 % interval.
Z95 = 1.959963984540054
# Fewer customers than this, or an interval wider than this, says nothing worth reading.
MIN_CUSTOMERS = 20
MAX_WIDTH = 0.5

# Spend before the case (orders not cancelled, replacements not counted) that opens each
# value band, highest first; below the last one the band is the lowest.
VALUE_BANDS: tuple[tuple[str, Decimal], ...] = (
    ("1,500 and over", Decimal(1500)),
    ("500 to 1,500", Decimal(500)),
)
LOWEST_BAND = "under 500"


def value_band(spend: Decimal) -> str:
    return next((name for name, floor in VALUE_BANDS if spend >= floor), LOWEST_BAND)


@dataclass(frozen=True, slots=True)
class Share:
    """k of n, with its Wilson 95 % interval; no share at all when n is 0."""

    n: int
    k: int
    value: float | None
    low: float | None
    high: float | None

    @property
    def too_small(self) -> bool:
        if self.value is None or self.low is None or self.high is None:
            return True
        return self.n < MIN_CUSTOMERS or self.high - self.low > MAX_WIDTH


def wilson(k: int, n: int, z: float = Z95) -> Share:
    """The Wilson score interval: unlike k/n ± z·se it stays within 0..1 and does not shrink
    to nothing when k is 0 or n, which small groups often are."""
    if not 0 <= k <= n:
        raise ValueError(f"{k} of {n} is not a share")
    if n == 0:
        return Share(0, 0, None, None, None)
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Share(n, k, p, max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True, slots=True)
class Difference:
    """The remedy group's share minus the comparable no-remedy share, over the strata where
    both have customers, with its 95 % interval."""

    covered: int  # the remedy group's customers in strata that have comparable customers
    comparable: int  # the no-remedy customers in those strata
    remedy_share: float | None
    comparable_share: float | None
    value: float | None
    low: float | None
    high: float | None

    @property
    def too_small(self) -> bool:
        if self.value is None or self.low is None or self.high is None:
            return True
        small = min(self.covered, self.comparable) < MIN_CUSTOMERS
        return small or self.high - self.low > MAX_WIDTH


Counts = tuple[int, int]  # (n, k) of one stratum
Stratum = TypeVar("Stratum", bound=Hashable)


def _adjusted_variance(k: int, n: int) -> float:
    """The variance of a share with one success and one failure added (Agresti and Caffo):
    a stratum of 0 of 3 is not known to the last digit, as k/n's own variance would say."""
    p = (k + 1) / (n + 2)
    return p * (1 - p) / (n + 2)


def stratified_difference(
    remedy: Mapping[Stratum, Counts], comparable: Mapping[Stratum, Counts], z: float = Z95
) -> Difference:
    """The remedy group's share against the no-remedy share standardised to its mix: each
    stratum's no-remedy share weighted by the remedy group's customers in it. Strata without
    comparable customers are left out of both sides (they have nothing to compare with)."""
    strata = [s for s, (n, _) in remedy.items() if n > 0 and comparable.get(s, (0, 0))[0] > 0]
    covered = sum(remedy[s][0] for s in strata)
    others = sum(comparable[s][0] for s in strata)
    if covered == 0:
        return Difference(0, 0, None, None, None, None, None)
    returned = sum(remedy[s][1] for s in strata)
    remedy_share = returned / covered
    comparable_share = 0.0
    variance = _adjusted_variance(returned, covered)
    for s in strata:
        weight = remedy[s][0] / covered
        n0, k0 = comparable[s]
        comparable_share += weight * k0 / n0
        variance += weight * weight * _adjusted_variance(k0, n0)
    value = remedy_share - comparable_share
    half = z * math.sqrt(variance)
    return Difference(
        covered,
        others,
        remedy_share,
        comparable_share,
        value,
        max(-1.0, value - half),
        min(1.0, value + half),
    )
