"""The arithmetic of retention after a remedy: Wilson intervals, the no-remedy share weighted
to a remedy group's mix, the value bands and when a group is too small to say anything."""

from __future__ import annotations

from decimal import Decimal

import pytest

from caredesk.domain.remedy_returns import (
    Z95,
    stratified_difference,
    value_band,
    wilson,
)


def test_the_wilson_interval_of_known_shares() -> None:
    twelve = wilson(12, 20)
    assert twelve.value == 0.6
    assert (twelve.low, twelve.high) == (
        pytest.approx(0.3866, abs=1e-4),
        pytest.approx(0.7812, abs=1e-4),
    )
    # None of ten is not certainly nobody; all of ten is not certainly everybody.
    assert (wilson(0, 10).low, wilson(0, 10).high) == (0.0, pytest.approx(0.2775, abs=1e-4))
    assert (wilson(10, 10).low, wilson(10, 10).high) == (
        pytest.approx(0.7225, abs=1e-4),
        pytest.approx(1.0),
    )


def test_no_customers_have_no_share_and_a_share_needs_k_within_n() -> None:
    nobody = wilson(0, 0)
    assert (nobody.value, nobody.low, nobody.high, nobody.too_small) == (None, None, None, True)
    with pytest.raises(ValueError, match="not a share"):
        wilson(3, 2)


def test_too_few_customers_or_too_wide_an_interval_says_nothing() -> None:
    assert wilson(5, 19).too_small  # fewer than 20
    assert not wilson(5, 20).too_small  # 20, and an interval of 0.11 to 0.47
    assert not wilson(12, 20).too_small
    # 20 of 20 is narrow; a handful at one half is wide as well as small.
    assert wilson(2, 4).too_small


def test_the_no_remedy_share_is_weighted_by_the_remedy_group_s_mix() -> None:
    remedy = {("damaged", "low"): (10, 6), ("late", "high"): (30, 12), ("billing", "low"): (5, 5)}
    # Billing has no comparable customers: it is left out of both sides; fraud has no remedy
    # customers: it weighs nothing.
    others = {("damaged", "low"): (50, 10), ("late", "high"): (20, 10), ("fraud", "low"): (9, 9)}
    diff = stratified_difference(remedy, others)
    assert (diff.covered, diff.comparable) == (40, 70)
    assert diff.remedy_share == pytest.approx(18 / 40)
    # 0.25 × 10/50 + 0.75 × 10/20, not the pooled 20/70.
    assert diff.comparable_share == pytest.approx(0.425)
    assert diff.value == pytest.approx(0.025)
    variance = (19 * 23 / 42**3) + 0.25**2 * (11 * 41 / 52**3) + 0.75**2 * (11 * 11 / 22**3)
    half = Z95 * variance**0.5
    assert (diff.low, diff.high) == (pytest.approx(0.025 - half), pytest.approx(0.025 + half))
    assert not diff.too_small


def test_a_comparison_without_comparable_customers_says_nothing() -> None:
    diff = stratified_difference({("damaged", "low"): (30, 10)}, {("late", "low"): (30, 10)})
    assert (diff.covered, diff.value, diff.too_small) == (0, None, True)
    small = stratified_difference({"a": (30, 10)}, {"a": (5, 1)})
    assert small.value is not None and small.too_small


def test_value_bands_by_spend_before_the_case() -> None:
    assert value_band(Decimal("0")) == "under 500"
    assert value_band(Decimal("499.99")) == "under 500"
    assert value_band(Decimal("500")) == "500 to 1,500"
    assert value_band(Decimal("1500")) == "1,500 and over"
