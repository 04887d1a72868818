"""Grants (executed offers), approvals for grants above authority, and policy versions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.domain.money import ZERO


class GrantStatus(StrEnum):
    EXECUTED = "executed"
    PENDING_APPROVAL = "pending_approval"
    DENIED = "denied"
    REVERSED = "reversed"


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


@dataclass(slots=True)
class Grant:
    id: int | None
    customer_id: str
    remedy_ids: list[str]
    params: dict[str, dict[str, Any]]
    status: GrantStatus
    cost: Decimal
    policy_version: str
    service_level: int
    actor: str
    created_at: datetime
    fingerprint: str
    case_id: int | None = None
    order_id: str | None = None
    refunded: Decimal = ZERO
    rules: list[str] = field(default_factory=list)
    summary: str = ""
    agent_id: int | None = None
    team_id: int | None = None
    idempotency_key: str | None = None
    reverses_grant_id: int | None = None
    executed_at: datetime | None = None
    # The case's issue when granted: what the planner and the caps count per case and issue.
    issue_type: str | None = None
    # The facts (record versions) it was decided on and those it left: the same bundle asked
    # again on any of them is this grant asked twice, not a new one.
    bases: list[dict[str, int]] = field(default_factory=list)


@dataclass(slots=True)
class Approval:
    id: int | None
    grant_id: int
    requested_by: str
    requested_by_role: str
    approver_role: str
    reasons: list[str]
    created_at: datetime
    case_id: int | None = None
    status: ApprovalStatus = ApprovalStatus.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str = ""

    def asked_by(self, ref: str, agent_id: int | None, requesting_agent_id: int | None) -> bool:
        """Whether this person asked for it, through whichever door, token or role."""
        if agent_id is not None and agent_id == requesting_agent_id:
            return True
        return ref == self.requested_by

    def approve_as(self, ref: str, agent_id: int | None, requesting_agent_id: int | None) -> None:
        """Four eyes on money: whoever asked may withdraw (deny), never approve, at any role."""
        if self.asked_by(ref, agent_id, requesting_agent_id):
            raise DomainError(
                "you asked for this grant: another person must approve it",
                code=ErrorCode.OWN_REQUEST,
                details={"approval_id": self.id, "requested_by": self.requested_by},
            )

    def decide(self, status: ApprovalStatus, by: str, now: datetime, note: str) -> None:
        if self.status is not ApprovalStatus.PENDING:
            raise DomainError(
                f"approval {self.id} was already {self.status.value}",
                code=ErrorCode.APPROVAL_DECIDED,
                details={"status": self.status.value, "decided_by": self.decided_by},
            )
        self.status, self.decided_by, self.decided_at, self.note = status, by, now, note


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    grant_id: int
    account: str
    amount: Decimal
    memo: str
    created_at: datetime
    # The remedy whose posting this is: the dashboard's cost per remedy sums these. None on
    # entries of bundles written before entries named their remedy.
    remedy_id: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    version: str
    name: str
    digest: str
    text: str
    loaded_at: datetime
    loaded_by: str
    active: bool
