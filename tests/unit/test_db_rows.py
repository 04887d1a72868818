"""Rows and domain objects copied field by field: enums, optional enums, lists, conversions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from caredesk.adapters.db import models as m
from caredesk.adapters.db.rows import column_values, from_row, onto_row
from caredesk.domain.lifecycle import Commitment, CommitmentKind, CommitmentStatus
from caredesk.domain.mail import AutoKind, MailDirection, MailRecord, MailStatus

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def commitment() -> Commitment:
    return Commitment(
        id=7,
        case_id=3,
        kind=CommitmentKind.CALLBACK,
        description="Call back about the parcel",
        due_at=T0,
        owner_agent_id=None,
        created_at=T0,
        created_by="agent:1",
    )


def test_a_row_written_and_read_back_is_the_same_object() -> None:
    row = onto_row(commitment(), m.CommitmentRow())
    assert row.kind == "callback" and row.status == "open"
    assert type(row.kind) is str
    back = from_row(Commitment, row)
    assert back == commitment()
    assert back.kind is CommitmentKind.CALLBACK and back.status is CommitmentStatus.OPEN


def test_skipped_fields_are_not_written_and_converted_ones_are() -> None:
    row = m.CommitmentRow(created_by="agent:9")
    onto_row(commitment(), row, skip=("id", "created_by"), description="said otherwise")
    assert row.id is None
    assert row.created_by == "agent:9"
    assert row.description == "said otherwise"


def test_a_field_without_a_column_is_refused() -> None:
    with pytest.raises(TypeError, match="no column for 'to'"):
        onto_row(mail(), m.MailMessageRow())


def mail() -> MailRecord:
    return MailRecord(
        id=None,
        direction=MailDirection.IN,
        message_id="<a@b>",
        status=MailStatus.FILED,
        created_at=T0,
        to=["desk@example.com"],
        auto_kind=AutoKind.BOUNCE,
    )


def test_optional_enums_and_lists_are_read_back_and_never_shared() -> None:
    stored = column_values(mail(), skip=("to", "cc", "references"))
    assert stored["auto_kind"] == "bounce" and stored["direction"] == "in"
    row = m.MailMessageRow(**stored, to_addresses=["desk@example.com"])
    record = from_row(MailRecord, row, to=list(row.to_addresses), cc=[], references=[])
    assert record.auto_kind is AutoKind.BOUNCE
    row.auto_kind = None
    assert from_row(MailRecord, row, to=[], cc=[], references=[]).auto_kind is None
    row.in_reply_to = ["<x@y>"]
    again = from_row(MailRecord, row, to=[], cc=[], references=[])
    again.in_reply_to.append("<z@y>")
    assert row.in_reply_to == ["<x@y>"]
