"""Replies to solved and closed cases: where a customer's reply goes."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from caredesk.domain.cases import Case, CaseStatus


class ReplyDisposition(StrEnum):
    APPEND = "append"  # an ordinary reply to a live case
    REOPEN = "reopen"  # a solved case, within the grace period
    FOLLOW_UP = "follow_up"  # too late (or closed): a new case linked to the old one


def reply_disposition(case: Case, now: datetime, grace: timedelta) -> ReplyDisposition:
    """Where a customer's reply goes, so first-contact resolution is not distorted."""
    if case.status is CaseStatus.CLOSED:
        return ReplyDisposition.FOLLOW_UP
    if case.status is CaseStatus.SOLVED:
        solved_at = case.solved_at or case.updated_at
        return ReplyDisposition.REOPEN if now - solved_at <= grace else ReplyDisposition.FOLLOW_UP
    return ReplyDisposition.APPEND
