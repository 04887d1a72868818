"""Webhook signatures, event patterns and which audit events are sent at all."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from caredesk.domain.audit import AuditEvent
from caredesk.domain.errors import ValidationFailed
from caredesk.domain.webhooks import (
    check_events,
    check_url,
    concerns_case_or_grant,
    delivered_as,
    event_payload,
    matches,
    sign,
    verify,
)

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_signature_covers_the_timestamp_and_the_body() -> None:
    signature = sign("s3cret", 1_770_000_000, b'{"a":1}')
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify("s3cret", 1_770_000_000, b'{"a":1}', signature)
    assert not verify("s3cret", 1_770_000_001, b'{"a":1}', signature)  # replayed later
    assert not verify("s3cret", 1_770_000_000, b'{"a":2}', signature)  # body changed
    assert not verify("other", 1_770_000_000, b'{"a":1}', signature)


@pytest.mark.parametrize(
    ("patterns", "action", "expected"),
    [
        (["case.*"], "case.created", True),
        (["case.*"], "case.status_changed", True),
        (["case.*"], "cases.created", False),
        (["grant.executed"], "grant.executed", True),
        (["grant.executed"], "grant.refused", False),
        (["*"], "sla.breached", True),
        (["sla.*", "grant.*"], "sla.warning", True),
    ],
)
def test_event_patterns(patterns: list[str], action: str, expected: bool) -> None:
    assert matches(patterns, action) is expected


@pytest.mark.parametrize(
    ("patterns", "delivered"),
    [
        (["survey.answered"], "survey.answered"),
        (["survey.*"], "survey.answered"),
        (["*"], "survey.answered"),
        # Subscribed by the former name: the event keeps the name the receiver knows.
        (["csat.answered"], "csat.answered"),
        (["csat.*"], "csat.answered"),
        (["csat.*", "survey.*"], "survey.answered"),
        (["csat.sent"], None),
        (["case.*"], None),
    ],
)
def test_a_renamed_event_reaches_subscriptions_to_its_former_name_under_it(
    patterns: list[str], delivered: str | None
) -> None:
    assert delivered_as(patterns, "survey.answered") == delivered
    assert matches(patterns, "survey.answered") is (delivered is not None)
    event = AuditEvent(AT, "customer:ada", "survey.answered", "case", "7", case_id=7)
    if delivered is not None:
        assert event_payload(event, delivered)["event"] == delivered


def test_only_case_and_grant_events_are_sent() -> None:
    def event(entity_type: str, case_id: int | None) -> AuditEvent:
        return AuditEvent(AT, "system", "x.y", entity_type, "1", case_id=case_id)

    assert concerns_case_or_grant(event("message", 7))
    assert concerns_case_or_grant(event("grant", None))
    assert concerns_case_or_grant(event("approval", None))
    assert not concerns_case_or_grant(event("token", None))
    assert not concerns_case_or_grant(event("agent", None))


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "https://", "https://u:p@example.com/", "example.com"]
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ValidationFailed):
        check_url(url)


@pytest.mark.parametrize("events", [[], ["case.**"], ["Case.Created"], ["case..x"]])
def test_bad_event_lists_are_refused(events: list[str]) -> None:
    with pytest.raises(ValidationFailed):
        check_events(events)


def test_event_lists_are_cleaned() -> None:
    assert check_events([" case.* ", "grant.executed", "case.*"]) == ["case.*", "grant.executed"]
