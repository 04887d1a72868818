"""What sign-in, tokens and the agents' administration may reach."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.access.ports import HasConsoleSessions, HasThrottles, HasTokens
from caredesk.services.cases.ports import HasCustomers
from caredesk.services.core.ports import Transaction
from caredesk.services.core.unit import HasFollowOns, HasStaff


class AccessUnit(
    HasStaff,
    HasFollowOns,
    HasTokens,
    HasConsoleSessions,
    HasThrottles,
    HasCustomers,
    Transaction,
    Protocol,
):
    """Sign-in, tokens, console sessions, agents and teams.

    With what the commands it calls touch: AuditUnit.
    """
