"""The unit of work this feature's commands run in: the repositories they may reach."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.access.ports import HasAgents, HasSessions, HasTeams, HasThrottles, HasTokens
from caredesk.services.cases.ports import HasCustomers
from caredesk.services.core.ports import HasAudit, Transaction


class AccessUnit(
    HasAgents,
    HasTeams,
    HasTokens,
    HasSessions,
    HasThrottles,
    HasCustomers,
    HasAudit,
    Transaction,
    Protocol,
):
    """Sign-in, tokens, console sessions, agents and teams."""
