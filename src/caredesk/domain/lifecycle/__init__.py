"""The case lifecycle beyond its status: handoffs, repeat asks, commitments, proactive
findings, and the rules for replies to solved cases, merges and splits.

Everything here is pure: the caller passes `now`, the time zone and the thresholds in. Each
purpose has its module; this package names them all, so callers import from one place.
"""

from __future__ import annotations

from caredesk.domain.lifecycle.commitments import (
    END_OF_DAY,
    Commitment,
    CommitmentKind,
    CommitmentStatus,
    DetectedCommitment,
    add_business_days,
    detect_commitments,
)
from caredesk.domain.lifecycle.escalation import (
    MAX_QUESTION,
    MAX_SUMMARY,
    Handoff,
    HandoffFacts,
    check_handoff,
    draft_handoff_summary,
)
from caredesk.domain.lifecycle.merge import (
    CaseLink,
    LinkKind,
    check_merge,
    check_split,
    close_as_merged,
    restore_after_unmerge,
)
from caredesk.domain.lifecycle.proactive import (
    FINDING_ISSUE_TYPES,
    ISSUE_TYPE_FIELD,
    KNOWN_ISSUE_FIELD,
    LIVE_STATUSES,
    Finding,
    FindingKind,
    FindingRecord,
    IssueRef,
    ScanThresholds,
    known_issue_findings,
    open_case_about,
    order_findings,
)
from caredesk.domain.lifecycle.repeat_asks import (
    AskKind,
    KnownToDesk,
    RepeatAsk,
    asked_for,
    detect_repeat_asks,
)
from caredesk.domain.lifecycle.routing import (
    ReplyDisposition,
    reply_disposition,
)

__all__ = [
    "END_OF_DAY",
    "FINDING_ISSUE_TYPES",
    "ISSUE_TYPE_FIELD",
    "KNOWN_ISSUE_FIELD",
    "LIVE_STATUSES",
    "MAX_QUESTION",
    "MAX_SUMMARY",
    "AskKind",
    "CaseLink",
    "Commitment",
    "CommitmentKind",
    "CommitmentStatus",
    "DetectedCommitment",
    "Finding",
    "FindingKind",
    "FindingRecord",
    "Handoff",
    "HandoffFacts",
    "IssueRef",
    "KnownToDesk",
    "LinkKind",
    "RepeatAsk",
    "ReplyDisposition",
    "ScanThresholds",
    "add_business_days",
    "asked_for",
    "check_handoff",
    "check_merge",
    "check_split",
    "close_as_merged",
    "detect_commitments",
    "detect_repeat_asks",
    "draft_handoff_summary",
    "known_issue_findings",
    "open_case_about",
    "order_findings",
    "reply_disposition",
    "restore_after_unmerge",
]
