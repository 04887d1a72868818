"""What the customer portal needs from storage: sign-in requests, sessions and surveys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from caredesk.domain.portal import CsatSurvey, PortalSession, SignInRequest


@dataclass(frozen=True, slots=True)
class SolvedCase:
    """A solved case that has no survey yet, and where to send one."""

    case_id: int
    customer_id: str
    subject: str
    solved_at: datetime


class PortalRepository(Protocol):
    def add_sign_in(self, request: SignInRequest) -> None: ...

    def sign_in_by_hash(self, token_hash: str) -> SignInRequest | None:
        """The request behind a link, locked so that two clicks cannot both redeem it."""
        ...

    def save_sign_in(self, request: SignInRequest) -> None: ...

    def sign_ins_since(
        self, *, email_key: str | None, client_key: str | None, since: datetime
    ) -> int:
        """How many links were asked for this address, or from this client, since then."""
        ...

    def add_session(self, session: PortalSession) -> None: ...

    def session_by_hash(self, token_hash: str) -> PortalSession | None: ...

    def save_session(self, session: PortalSession) -> None: ...

    def add_survey(self, survey: CsatSurvey) -> None: ...

    def survey_by_hash(self, token_hash: str) -> CsatSurvey | None: ...

    def survey_for_case(self, case_id: int) -> CsatSurvey | None: ...

    def save_survey(self, survey: CsatSurvey) -> None: ...

    def surveys(self, *, answered_since: datetime | None, limit: int) -> list[CsatSurvey]:
        """Answered surveys, newest answer first."""
        ...

    def solved_without_survey(self, *, solved_since: datetime, limit: int) -> list[SolvedCase]: ...
