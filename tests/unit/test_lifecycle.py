"""The pure lifecycle rules: repeat asks, commitments, replies to solved cases, merge, split,
proactive findings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from caredesk.domain.cases import Case, CaseStatus, Message, MessageKind
from caredesk.domain.customers import Address
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.domain.lifecycle import (
    AskKind,
    CaseLink,
    Commitment,
    CommitmentKind,
    CommitmentStatus,
    FindingKind,
    HandoffFacts,
    IssueRef,
    KnownToDesk,
    LinkKind,
    ReplyDisposition,
    ScanThresholds,
    add_business_days,
    asked_for,
    check_merge,
    check_split,
    close_as_merged,
    detect_commitments,
    detect_repeat_asks,
    draft_handoff_summary,
    known_issue_findings,
    open_case_about,
    order_findings,
    reply_disposition,
    restore_after_unmerge,
)
from caredesk.domain.orders import (
    Order,
    OrderLine,
    OrderStatus,
    PaymentTransaction,
    Shipment,
    TransactionType,
)

# A Wednesday, 10:00 in London (09:00 UTC in March before the clocks change).
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=ZoneInfo("Europe/London"))
LONDON = ZoneInfo("Europe/London")
EVERYTHING = KnownToDesk(order_number=True, address=True, photos=True, email=True, phone=True)


# --- repeat asks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kinds"),
    [
        ("Could you please send me your order number?", [AskKind.ORDER_NUMBER]),
        ("What is your order #?", [AskKind.ORDER_NUMBER]),
        ("Please confirm your shipping address.", [AskKind.ADDRESS]),
        ("Can you share a few photos of the damage?", [AskKind.PHOTOS]),
        ("Please attach a screenshot of the error.", [AskKind.PHOTOS]),
        ("Could you give me the email address on the account?", [AskKind.EMAIL]),
        ("Let me know your phone number and order number.", [AskKind.ORDER_NUMBER, AskKind.PHONE]),
    ],
)
def test_asks_are_found(body: str, kinds: list[AskKind]) -> None:
    assert asked_for(body) == kinds


@pytest.mark.parametrize(
    "body",
    [
        "Your order number is #W123 and it ships today.",
        "We sent the label to your address.",
        "Thanks for the photos, they show the crack clearly.",
        "I have updated the email on file.",
    ],
)
def test_mentions_are_not_asks(body: str) -> None:
    assert asked_for(body) == []


def test_only_asks_for_what_the_desk_has_are_repeat_asks() -> None:
    body = "Please send your order number and a photo of the label."
    assert detect_repeat_asks(body, KnownToDesk(order_number=True)) == [AskKind.ORDER_NUMBER]
    assert detect_repeat_asks(body, KnownToDesk()) == []
    assert detect_repeat_asks(body, EVERYTHING) == [AskKind.ORDER_NUMBER, AskKind.PHOTOS]


def test_email_address_is_not_a_postal_address() -> None:
    assert detect_repeat_asks(
        "What is your email address?", KnownToDesk(address=True, email=True)
    ) == [AskKind.EMAIL]


# --- commitments ---------------------------------------------------------------------------


def test_callback_tomorrow_by_five() -> None:
    [found] = detect_commitments("I'll call you back tomorrow by 5pm.", NOW, LONDON)
    assert found.kind is CommitmentKind.CALLBACK
    assert found.due_at == datetime(2026, 3, 5, 17, 0, tzinfo=LONDON)


def test_reply_by_friday_means_end_of_day_friday() -> None:
    [found] = detect_commitments("We will get back to you by Friday.", NOW, LONDON)
    assert found.kind is CommitmentKind.REPLY
    assert found.due_at == datetime(2026, 3, 6, 17, 0, tzinfo=LONDON)


def test_weekday_said_on_that_day_means_next_week() -> None:
    [found] = detect_commitments("I will update you on Wednesday.", NOW, LONDON)
    assert found.due_at.date() == date(2026, 3, 11)


def test_clock_already_past_today_rolls_to_tomorrow() -> None:
    [found] = detect_commitments("I'll call you at 9:30.", NOW, LONDON)
    assert found.due_at == datetime(2026, 3, 5, 9, 30, tzinfo=LONDON)


def test_refund_within_business_days() -> None:
    [found] = detect_commitments("Your refund will be issued within 3 business days.", NOW, LONDON)
    assert found.kind is CommitmentKind.REFUND
    # Wednesday + 3 business days is Monday.
    assert found.due_at.astimezone(LONDON).date() == date(2026, 3, 9)


def test_refund_within_calendar_days_and_words() -> None:
    [found] = detect_commitments("We'll refund you within five days.", NOW, LONDON)
    assert found.due_at == NOW + timedelta(days=5)


def test_delivery_date() -> None:
    [found] = detect_commitments("Your replacement will arrive by Monday.", NOW, LONDON)
    assert found.kind is CommitmentKind.DELIVERY
    assert found.due_at == datetime(2026, 3, 9, 17, 0, tzinfo=LONDON)


@pytest.mark.parametrize(
    "body",
    [
        "I'll try to call you back tomorrow.",
        "We might get back to you by Friday.",
        "I'll call you back soon.",
        "Hopefully it will arrive by Monday.",
        "Thanks for calling us yesterday.",
        "You said you would call us tomorrow.",
    ],
)
def test_hedged_or_vague_promises_are_not_commitments(body: str) -> None:
    assert detect_commitments(body, NOW, LONDON) == []


def test_two_promises_in_one_message() -> None:
    found = detect_commitments(
        "I'll call you back tomorrow at 10am. Your refund will be processed within 2 days.",
        NOW,
        LONDON,
    )
    assert [f.kind for f in found] == [CommitmentKind.CALLBACK, CommitmentKind.REFUND]


def test_business_days_skip_weekends() -> None:
    friday = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
    assert add_business_days(friday, 1).date() == date(2026, 3, 9)


def _commitment(due: datetime) -> Commitment:
    return Commitment(
        id=1,
        case_id=1,
        kind=CommitmentKind.CALLBACK,
        description="Call back",
        due_at=due,
        owner_agent_id=3,
        created_at=NOW,
        created_by="agent:3",
    )


def test_commitment_at_risk_then_missed() -> None:
    commitment = _commitment(NOW + timedelta(minutes=30))
    warning = timedelta(hours=1)
    assert commitment.at_risk(NOW, warning)
    assert not commitment.at_risk(NOW - timedelta(hours=2), warning)
    assert not commitment.missed(NOW)
    assert commitment.missed(NOW + timedelta(minutes=30))
    commitment.alerted_at = NOW
    assert not commitment.at_risk(NOW, warning)


def test_resolved_commitment_cannot_be_resolved_again() -> None:
    commitment = _commitment(NOW + timedelta(days=1))
    commitment.resolve(CommitmentStatus.KEPT, NOW)
    assert not commitment.missed(NOW + timedelta(days=2))
    with pytest.raises(DomainError) as raised:
        commitment.resolve(CommitmentStatus.CANCELLED, NOW)
    assert raised.value.code is ErrorCode.INVALID_TRANSITION


def test_commitment_needs_an_aware_due_time() -> None:
    with pytest.raises(DomainError):
        _commitment(datetime(2026, 3, 4, 17, 0))


# --- handoff -------------------------------------------------------------------------------


def test_draft_summary_carries_the_facts_and_the_question() -> None:
    facts = HandoffFacts(
        orders=[{"id": "#W1", "status": "delivered"}],
        products=["LabelWriter 450"],
        tried=["reinstalled the driver"],
        grants=["store credit 10.00"],
        attachments=2,
    )
    text = draft_handoff_summary("Printer stopped", facts, "Is a replacement allowed?")
    assert "#W1 (delivered)" in text
    assert "LabelWriter 450" in text
    assert "reinstalled the driver" in text
    assert "2 attachment(s)" in text
    assert text.endswith("Open question: Is a replacement allowed?")


# --- replies to solved cases ---------------------------------------------------------------


def _case(case_id: int, customer: str = "c1", status: CaseStatus = CaseStatus.OPEN) -> Case:
    case = Case(id=case_id, subject="s", customer_id=customer, created_at=NOW, updated_at=NOW)
    case.status = status
    if status is CaseStatus.SOLVED:
        case.solved_at = NOW
    return case


def test_reply_disposition_follows_the_grace_period() -> None:
    grace = timedelta(days=7)
    solved = _case(1, status=CaseStatus.SOLVED)
    assert reply_disposition(_case(2), NOW, grace) is ReplyDisposition.APPEND
    assert reply_disposition(solved, NOW + timedelta(days=7), grace) is ReplyDisposition.REOPEN
    later = NOW + timedelta(days=7, seconds=1)
    assert reply_disposition(solved, later, grace) is ReplyDisposition.FOLLOW_UP
    closed = _case(3, status=CaseStatus.CLOSED)
    assert reply_disposition(closed, NOW, grace) is ReplyDisposition.FOLLOW_UP


# --- merge and split -----------------------------------------------------------------------


def test_merge_across_customers_needs_force_and_an_admin() -> None:
    target, other = _case(1, "c1"), _case(2, "c2")
    with pytest.raises(DomainError) as raised:
        check_merge(target, [other], merged_away=[], force=False, may_force=True)
    assert raised.value.code is ErrorCode.DIFFERENT_CUSTOMERS
    with pytest.raises(DomainError) as raised:
        check_merge(target, [other], merged_away=[], force=True, may_force=False)
    assert raised.value.code is ErrorCode.FORBIDDEN
    check_merge(target, [other], merged_away=[], force=True, may_force=True)


@pytest.mark.parametrize(
    ("sources", "merged_away", "target_status"),
    [
        ([1], [], CaseStatus.OPEN),
        ([2], [2], CaseStatus.OPEN),
        ([2], [], CaseStatus.CLOSED),
    ],
)
def test_merges_that_cannot_be(
    sources: list[int], merged_away: list[int], target_status: CaseStatus
) -> None:
    target = _case(1, status=target_status)
    with pytest.raises(DomainError) as raised:
        check_merge(
            target,
            [_case(i) for i in sources],
            merged_away=merged_away,
            force=False,
            may_force=False,
        )
    assert raised.value.code is ErrorCode.CANNOT_MERGE


def test_close_as_merged_and_restore_round_trip() -> None:
    case = _case(2, status=CaseStatus.SOLVED)
    case.custom_fields = {"model": "x"}
    prior = close_as_merged(case, 1, NOW + timedelta(hours=1))
    assert case.status is CaseStatus.CLOSED
    assert case.custom_fields["merged_into"] == 1
    restore_after_unmerge(case, prior, NOW + timedelta(hours=2))
    assert case.status is CaseStatus.SOLVED
    assert case.solved_at == NOW
    assert case.closed_at is None
    assert case.custom_fields == {"model": "x"}


def _message(message_id: int, kind: MessageKind = MessageKind.INBOUND) -> Message:
    return Message(id=message_id, case_id=1, kind=kind, body="b", created_at=NOW)


def test_split_refuses_the_only_message_and_notes_alone() -> None:
    with pytest.raises(DomainError) as raised:
        check_split([_message(1)], [1])
    assert raised.value.code is ErrorCode.CANNOT_SPLIT
    with pytest.raises(DomainError) as raised:
        check_split([_message(1), _message(2, MessageKind.NOTE)], [2])
    assert raised.value.code is ErrorCode.CANNOT_SPLIT
    with pytest.raises(DomainError) as raised:
        check_split([_message(1), _message(2)], [9])
    assert raised.value.code is ErrorCode.CANNOT_SPLIT
    assert [m.id for m in check_split([_message(1), _message(2)], [2])] == [2]


def test_a_link_is_undone_once() -> None:
    link = CaseLink(
        id=1, kind=LinkKind.MERGED_INTO, case_id=2, other_case_id=1, created_at=NOW,
        created_by="agent:1",
    )  # fmt: skip
    link.undo("agent:1", NOW)
    with pytest.raises(DomainError) as raised:
        link.undo("agent:1", NOW)
    assert raised.value.code is ErrorCode.ALREADY_UNDONE


# --- proactive findings --------------------------------------------------------------------

SCAN_NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def _order(status: OrderStatus, **shipment: object) -> Order:
    return Order(
        id="#W9",
        customer_id="c1",
        status=status,
        address=Address(address1="1 Way"),
        lines=[OrderLine("v1", "p1", "Lamp", Decimal("40.00"))],
        shipments=[Shipment(tracking_ids=["T1"], variant_ids=["v1"], **shipment)],  # type: ignore[arg-type]
        payments=[
            PaymentTransaction(
                TransactionType.PAYMENT, Decimal("40.00"), "card", datetime(2026, 3, 1, tzinfo=UTC)
            )
        ],
    )


def test_late_delivery_found_once_per_shipment() -> None:
    order = _order(OrderStatus.SHIPPED, promised_date=date(2026, 3, 18))
    [finding] = order_findings(order, SCAN_NOW, ScanThresholds())
    assert finding.kind is FindingKind.LATE_DELIVERY
    assert finding.key == "late_delivery:#W9:0"
    assert finding.customer_id == "c1"


def test_delivered_or_not_yet_due_is_not_late() -> None:
    delivered = _order(
        OrderStatus.DELIVERED,
        promised_date=date(2026, 3, 18),
        delivered_at=datetime(2026, 3, 19, tzinfo=UTC),
    )
    on_time = _order(OrderStatus.SHIPPED, promised_date=date(2026, 3, 20))
    assert order_findings(delivered, SCAN_NOW, ScanThresholds()) == []
    assert order_findings(on_time, SCAN_NOW, ScanThresholds()) == []


def test_stalled_shipment() -> None:
    order = _order(OrderStatus.SHIPPED, shipped_at=datetime(2026, 3, 10, tzinfo=UTC))
    [finding] = order_findings(order, SCAN_NOW, ScanThresholds(stall_days=5))
    assert finding.kind is FindingKind.SHIPMENT_STALLED
    assert order_findings(order, SCAN_NOW, ScanThresholds(stall_days=14)) == []


def test_wrong_item_shipped() -> None:
    order = _order(OrderStatus.DELIVERED)
    order.shipments[0].variant_ids = ["v7"]
    [finding] = order_findings(order, SCAN_NOW, ScanThresholds())
    assert finding.kind is FindingKind.WRONG_ITEM
    assert finding.facts["shipped"] == ["v7"]


def test_refund_not_completed_in_time() -> None:
    order = _order(OrderStatus.CANCELLED)
    [finding] = order_findings(order, SCAN_NOW, ScanThresholds(refund_days=7))
    assert finding.kind is FindingKind.REFUND_LATE
    order.payments.append(PaymentTransaction(TransactionType.REFUND, Decimal("40.00"), "card"))
    assert order_findings(order, SCAN_NOW, ScanThresholds()) == []


def test_known_issue_once_per_customer() -> None:
    first, second = _order(OrderStatus.DELIVERED), _order(OrderStatus.DELIVERED)
    second.id = "#W10"
    issue = IssueRef("lamp-flicker", "Lamp flickers", frozenset({"p1"}), frozenset())
    [finding] = known_issue_findings([first, second], [issue])
    assert finding.key == "known_issue:lamp-flicker:c1"
    unrelated = IssueRef("other", "Other", frozenset({"p2"}), frozenset({"v2"}))
    assert known_issue_findings([first], [unrelated]) == []


def _customer_case(status: CaseStatus, **fields: object) -> Case:
    case = Case(
        id=41,
        subject="Where is my lamp?",
        customer_id="c1",
        created_at=SCAN_NOW,
        updated_at=SCAN_NOW,
        order_ids=["#W9"],
        custom_fields={"issue_type": "late_delivery"},
    )
    case.status = status
    for name, value in fields.items():
        setattr(case, name, value)
    return case


@pytest.mark.parametrize(
    "status", [CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.PENDING, CaseStatus.ON_HOLD]
)
def test_an_open_case_about_the_order_and_issue_covers_a_finding(status: CaseStatus) -> None:
    [finding] = order_findings(
        _order(OrderStatus.SHIPPED, promised_date=date(2026, 3, 18)), SCAN_NOW, ScanThresholds()
    )
    case = _customer_case(status)
    assert open_case_about(finding, [case]) is case


@pytest.mark.parametrize(
    ("why", "changes"),
    [
        ("solved", {"status": CaseStatus.SOLVED}),
        ("closed", {"status": CaseStatus.CLOSED}),
        ("another customer", {"customer_id": "c2"}),
        ("another order", {"order_ids": ["#W10"]}),
        ("no order", {"order_ids": []}),
        ("another issue", {"custom_fields": {"issue_type": "billing"}}),
        ("no issue", {"custom_fields": {}}),
    ],
)
def test_a_case_that_is_closed_or_about_something_else_covers_nothing(
    why: str, changes: dict[str, object]
) -> None:
    [finding] = order_findings(
        _order(OrderStatus.SHIPPED, promised_date=date(2026, 3, 18)), SCAN_NOW, ScanThresholds()
    )
    status = changes.pop("status", CaseStatus.OPEN)
    assert isinstance(status, CaseStatus)
    assert open_case_about(finding, [_customer_case(status, **changes)]) is None, why


def test_a_known_issue_is_covered_only_by_a_case_about_that_same_issue() -> None:
    issue = IssueRef("lamp-flicker", "Lamp flickers", frozenset({"p1"}), frozenset())
    [finding] = known_issue_findings([_order(OrderStatus.DELIVERED)], [issue])
    named = {"issue_type": "known_issue", "known_issue": "other-issue,lamp-flicker"}
    by_field = _customer_case(CaseStatus.OPEN, custom_fields=named)
    by_tag = _customer_case(
        CaseStatus.OPEN,
        custom_fields={"issue_type": "known_issue"},
        tags=["known-issue:lamp-flicker"],
    )
    other = _customer_case(
        CaseStatus.OPEN, custom_fields={"issue_type": "known_issue", "known_issue": "other-issue"}
    )
    assert open_case_about(finding, [by_field]) is by_field
    assert open_case_about(finding, [by_tag]) is by_tag
    assert open_case_about(finding, [other]) is None
