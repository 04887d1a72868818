"""The customer portal's records: magic links, portal sessions and satisfaction surveys.

Every secret here (a sign-in link, a session cookie, a survey link) carries 256 random
bits and is stored only as its hash, so a copy of the database signs nobody in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from caredesk.domain.errors import DomainError, ErrorCode, ValidationFailed
from caredesk.domain.tokens import BrowserSession

SURVEY_SCORES = (1, 2, 3, 4, 5)
MAX_SURVEY_COMMENT = 2000


def email_key(email: str) -> str:
    """What a sign-in request is counted under: the address's hash, never the address itself,
    so the rate-limit log does not become a list of every address anyone typed."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


@dataclass(slots=True)
class SignInRequest:
    """One request for a sign-in link. Requests for unknown addresses are kept too (with no
    customer and no link), so they count against the rate limit exactly like known ones."""

    id: int | None
    email_key: str
    client_key: str
    created_at: datetime
    expires_at: datetime
    customer_id: str | None = None
    token_hash: str | None = None
    used_at: datetime | None = None

    def redeem(self, now: datetime) -> str:
        """Use the link once; return the customer it signs in."""
        if self.customer_id is None or self.token_hash is None:
            raise DomainError("this sign-in link is not valid", code=ErrorCode.TOKEN_INVALID)
        if self.used_at is not None:
            raise DomainError(
                "this sign-in link was already used; ask for a new one",
                code=ErrorCode.TOKEN_REVOKED,
            )
        if self.expires_at <= now:
            raise DomainError(
                "this sign-in link has expired; ask for a new one", code=ErrorCode.TOKEN_EXPIRED
            )
        self.used_at = now
        return self.customer_id


@dataclass(slots=True, kw_only=True)
class PortalSession(BrowserSession):
    customer_id: str


@dataclass(slots=True)
class SatisfactionSurvey:
    """The satisfaction survey of one solved case, and the customer's answer once given."""

    id: int | None
    case_id: int
    customer_id: str
    token_hash: str
    sent_at: datetime
    expires_at: datetime
    score: int | None = None
    comment: str = ""
    answered_at: datetime | None = None

    def check_open(self, now: datetime) -> None:
        if self.expires_at <= now:
            raise DomainError(
                "this survey has closed; thank you all the same", code=ErrorCode.TOKEN_EXPIRED
            )

    def answer(self, now: datetime, score: int | None, comment: str | None) -> None:
        """Record (or change) the score and the optional comment while the survey is open.
        Everything is checked before anything changes."""
        self.check_open(now)
        if score is not None and score not in SURVEY_SCORES:
            raise ValidationFailed("the score is 1 to 5", details={"field": "score"})
        text = self.comment if comment is None else comment.strip()
        if len(text) > MAX_SURVEY_COMMENT:
            raise ValidationFailed(
                f"the comment is longer than {MAX_SURVEY_COMMENT} characters",
                details={"field": "comment"},
            )
        if "\x00" in text:
            raise ValidationFailed("the comment contains a NUL character")
        if score is None and self.score is None:
            raise ValidationFailed("choose a score from 1 to 5", details={"field": "score"})
        self.score = score if score is not None else self.score
        self.comment = text
        self.answered_at = now

    @property
    def satisfied(self) -> bool | None:
        """A score of 4 or 5 counts as satisfied."""
        return None if self.score is None else self.score >= 4
