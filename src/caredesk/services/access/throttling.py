"""Counting failed credentials inside the command that checked them (domain/throttling.py).

An `Attempt` is one try at a credential: a password, an API token, a sign-in link. It is
refused while its client address (or, for a password, the account) waits out a delay or a
lock; a failure is counted under both, in the same transaction as its audit line, and a
lock gets a line of its own. Refusals write nothing: they checked no credential, and a
trail that grew with every retry of a locked-out guesser would bury everything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from caredesk.domain.agents import SYSTEM
from caredesk.domain.errors import RetryLater
from caredesk.domain.throttling import Throttle, ThrottleKind, ThrottleRule, throttle_key
from caredesk.services.access.unit import AccessUnit
from caredesk.services.core.changes import publish_change

log = structlog.get_logger("caredesk.throttling")


@dataclass(frozen=True, slots=True)
class ThrottleRules:
    """The sign-in rules per account and per client address, bound once by bootstrap."""

    account: ThrottleRule
    client: ThrottleRule


def _load(uow: AccessUnit, kind: ThrottleKind, value: str, *, for_change: bool) -> Throttle:
    key = throttle_key(kind, value)
    repo = uow.throttles
    found = repo.get_for_change(key) if for_change else repo.get(key)
    return found or Throttle(key=key, kind=kind)


@dataclass(slots=True)
class Attempt:
    client_address: str
    client: Throttle
    account: Throttle | None
    rules: ThrottleRules

    @classmethod
    def begin(
        cls,
        uow: AccessUnit,
        rules: ThrottleRules,
        *,
        client: str,
        account: str | None = None,
        for_change: bool = True,
    ) -> Attempt:
        """Load the throttles this attempt counts under, the client's first (the same order
        everywhere, so two attempts never wait on each other crosswise).

        `for_change=False` reads without holding them: for the many attempts that succeed
        (every API call's token), which then never queue behind one another.
        """
        return cls(
            client_address=client,
            client=_load(uow, ThrottleKind.CLIENT, client, for_change=for_change),
            account=(
                _load(uow, ThrottleKind.ACCOUNT, account, for_change=for_change)
                if account is not None
                else None
            ),
            rules=rules,
        )

    def check(self, now: datetime) -> None:
        try:
            self.client.check(now)
            if self.account is not None:
                self.account.check(now)
        except RetryLater as refusal:
            log.warning("credential attempt refused", code=refusal.code.value)
            raise

    def failed(
        self,
        uow: AccessUnit,
        now: datetime,
        *,
        action: str,
        entity_type: str,
        entity_id: object,
        after: dict[str, Any] | None = None,
    ) -> None:
        """Count the failure under the client (and account) and audit it, and any lock it
        brought; the caller commits, then refuses."""
        self.client = uow.throttles.get_for_change(self.client.key) or self.client
        client_locked = self.client.record_failure(now, self.rules.client)
        account_locked = self.account is not None and self.account.record_failure(
            now, self.rules.account
        )
        counted = self.account or self.client
        publish_change(
            uow,
            SYSTEM,
            now,
            action,
            entity_type,
            entity_id,
            after={
                "client": self.client_address,
                "failures": counted.failures,
                **(after or {}),
            },
        )
        if client_locked:
            publish_change(
                uow,
                SYSTEM,
                now,
                "client.locked",
                "client",
                self.client_address,
                after=self.client.state(),
            )
        uow.throttles.save(self.client)
        if self.account is not None:
            if account_locked:
                publish_change(
                    uow,
                    SYSTEM,
                    now,
                    "sign_in.locked",
                    entity_type,
                    entity_id,
                    after={"client": self.client_address, **self.account.state()},
                )
            uow.throttles.save(self.account)

    def succeeded(self, uow: AccessUnit) -> None:
        """The account's count starts afresh; the client's runs out on its own, so that a
        guesser cannot clear it by signing in to an account of their own now and then."""
        if self.account is not None and self.account.failures:
            uow.throttles.delete(self.account.key)
