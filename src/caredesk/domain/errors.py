"""Domain errors with stable codes: every layer reports the same code to its caller."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, TypeVar


class ErrorCode(StrEnum):
    VALIDATION_ERROR = "validation_error"
    MALFORMED_JSON = "malformed_json"
    NUL_CHARACTER = "nul_character"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    FILE_TOO_LARGE = "file_too_large"
    ATTACHMENTS_TOO_LARGE = "attachments_too_large"
    TOO_MANY_ATTACHMENTS = "too_many_attachments"
    NOT_FOUND = "not_found"
    UNAUTHENTICATED = "unauthenticated"
    TOKEN_INVALID = "token_invalid"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_REVOKED = "token_revoked"
    INVALID_CREDENTIALS = "invalid_credentials"
    CSRF_FAILED = "csrf_failed"
    FORBIDDEN = "forbidden"
    CONFLICT = "conflict"
    VERSION_CONFLICT = "version_conflict"
    PRECONDITION_REQUIRED = "precondition_required"
    INVALID_TRANSITION = "invalid_transition"
    DUPLICATE_EMAIL = "duplicate_email"
    DUPLICATE_ID = "duplicate_id"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_IN_PROGRESS = "idempotency_in_progress"
    INVALID_CURSOR = "invalid_cursor"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    POLICY_INVALID = "policy_invalid"
    POLICY_REFUSED = "policy_refused"
    POLICY_EMPTY = "policy_empty"
    POLICY_STALE = "policy_stale"
    POLICY_CHANGE_DECIDED = "policy_change_decided"
    CONFIRMATION_REQUIRED = "confirmation_required"
    NOT_ELIGIBLE = "not_eligible"
    OVER_AUTHORITY = "over_authority"
    OVER_BUDGET = "over_budget"
    GUARDRAIL = "guardrail"
    STALE_PLAN = "stale_plan"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    ORDER_STATUS = "order_status"
    NOT_CUSTOMERS = "not_customers"
    ITEM_NOT_IN_ORDER = "item_not_in_order"
    ITEM_UNAVAILABLE = "item_unavailable"
    DIFFERENT_PRODUCT = "different_product"
    INVALID_PAYMENT_METHOD = "invalid_payment_method"
    APPROVAL_DECIDED = "approval_decided"
    OWN_REQUEST = "own_request"
    URL_NOT_ALLOWED = "url_not_allowed"
    INVALID_CALENDAR = "invalid_calendar"
    INVALID_SLA_POLICY = "invalid_sla_policy"
    DIFFERENT_CUSTOMERS = "different_customers"
    CANNOT_SPLIT = "cannot_split"
    CANNOT_MERGE = "cannot_merge"
    ALREADY_UNDONE = "already_undone"
    JOB_STATE = "job_state"
    WORKER_RUNNING = "worker_running"
    SEARCH_UNAVAILABLE = "search_unavailable"
    MODEL_UNAVAILABLE = "model_unavailable"
    NOT_ENOUGH_LABELS = "not_enough_labels"
    RATE_LIMITED = "rate_limited"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    ACCOUNT_LOCKED = "account_locked"
    TEMPLATE_INVALID = "template_invalid"
    # A desk archive (`caredesk import caredesk`) refused before anything is written.
    ARCHIVE_INVALID = "archive_invalid"
    ARCHIVE_VERSION = "archive_version"
    ARCHIVE_SCHEMA = "archive_schema"
    ARCHIVE_CHECKSUM = "archive_checksum"
    TARGET_NOT_EMPTY = "target_not_empty"
    # A request of a foreign API (Zendesk's, at /api/v2) that the desk does not answer.
    NOT_SUPPORTED = "not_supported"


class DomainError(Exception):
    """A refusal the caller can act on: a stable code, a human message, optional details."""

    code: ErrorCode = ErrorCode.VALIDATION_ERROR

    def __init__(
        self, message: str, *, code: ErrorCode | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}


class RetryLater(DomainError):
    """A refusal that lifts by itself: the caller may try again after `retry_after` seconds
    (over HTTP a 429 with `Retry-After`)."""

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode,
        retry_after: int,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            message, code=code, details={**(details or {}), "retry_after": retry_after}
        )
        self.retry_after = retry_after


class ValidationFailed(DomainError):
    code = ErrorCode.VALIDATION_ERROR


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND

    def __init__(self, entity: str, entity_id: object) -> None:
        super().__init__(
            f"{entity} {entity_id!s} not found", details={"entity": entity, "id": str(entity_id)}
        )


T = TypeVar("T")


def must_exist(value: T | None, entity: str, entity_id: object) -> T:
    """What a lookup returned; one that found nothing is the caller's NotFound."""
    if value is None:
        raise NotFound(entity, entity_id)
    return value


def must_match(pattern: re.Pattern[str], value: str, refusal: str, field: str) -> str:
    """`value`, when `pattern` matches it; else the refusal, naming the field to fix."""
    if not pattern.match(value):
        raise ValidationFailed(refusal, details={"field": field})
    return value


class Conflict(DomainError):
    code = ErrorCode.CONFLICT


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN


class Unauthenticated(DomainError):
    code = ErrorCode.UNAUTHENTICATED


class InvalidTransition(DomainError):
    code = ErrorCode.INVALID_TRANSITION


def check_version(entity: str, entity_id: object, current: int, expected: int | None) -> None:
    """A change based on an older version than the stored one is refused: the client must look
    again. Without a version from the client there is nothing to compare."""
    if expected is not None and expected != current:
        raise DomainError(
            f"{entity} {entity_id} was changed by someone else since version {expected}",
            code=ErrorCode.VERSION_CONFLICT,
            details={"current_version": current, "your_version": expected},
        )


def version_required(expected: int | None) -> int:
    """The version a full edit was based on; edits without one would overwrite blindly.

    Checked after the caller's permissions, so a caller who may not edit at all hears
    that (403) rather than being asked for a version first (428).
    """
    if expected is None:
        raise DomainError(
            "send If-Match (the ETag you read) or `version`, so no one's edit is overwritten",
            code=ErrorCode.PRECONDITION_REQUIRED,
        )
    return expected
