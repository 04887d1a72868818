"""The pure rules of erasure and retention: tombstones, what is scrubbed, cutoffs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from caredesk.domain.erasure import (
    ERASED_TEXT,
    PersonalData,
    RetentionRules,
    erase_details,
    erased_address,
    needle_pattern,
)
from caredesk.domain.errors import ValidationFailed

PERSON = PersonalData(
    customer_id="c1",
    seq=42,
    first_name="Ada",
    last_name="Lovelace",
    emails=("ada@example.com",),
    phones=("+44 20 7946 0000",),
    addresses=({"address1": "1 Analytical Way", "city": "London"},),
)


def test_the_tombstone_is_unique_and_undeliverable() -> None:
    assert PERSON.tombstone.name == "Erased customer #42"
    assert PERSON.tombstone.email == "erased-42@invalid"


def test_only_whole_identifiers_are_searched_everywhere_and_parts_only_in_own_records() -> None:
    assert PERSON.identifiers() == ["+44 20 7946 0000", "ada@example.com", "Ada Lovelace"]
    owned = PERSON.owned_needles()
    assert "Ada" in owned and "1 Analytical Way" in owned and "London" not in owned


def test_audit_details_keep_facts_and_lose_text() -> None:
    pattern = needle_pattern(PERSON.owned_needles())
    details = {
        "status": "solved",
        "amount": "15.00",
        "attachments": 2,
        "subject": "Printer broken",
        "emails": ["ada@example.com"],
        "reason": "Ada LOVELACE called twice",
    }
    assert erase_details(details, pattern) == {
        "status": "solved",
        "amount": "15.00",
        "attachments": 2,
        "subject": ERASED_TEXT,
        "emails": [ERASED_TEXT],
        "reason": f"{ERASED_TEXT} called twice",
    }


def test_an_erased_address_keeps_its_keys() -> None:
    assert erased_address({"address1": "1 Analytical Way", "zip": ""}) == {
        "address1": ERASED_TEXT,
        "zip": "",
    }


def test_retention_zero_keeps_for_ever_and_a_negative_age_is_refused() -> None:
    assert not RetentionRules.of(0, 0, 0).active
    now = datetime(2026, 3, 2, tzinfo=UTC)
    cutoffs = RetentionRules.of(30, 0, 7).cutoffs(now)
    assert cutoffs.raw_mail == now - timedelta(days=30)
    assert cutoffs.attachments is None
    assert cutoffs.closed_cases == now - timedelta(days=7)
    with pytest.raises(ValidationFailed):
        RetentionRules(raw_mail_days=-1)
