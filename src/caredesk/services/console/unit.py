"""The unit of work this feature's commands run in: the repositories they may reach."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.access.ports import HasAgents, HasTeams, HasTokens
from caredesk.services.cases.ports import HasCases, HasCustomers
from caredesk.services.channels.ports import HasPortal
from caredesk.services.console.ports import HasConsole
from caredesk.services.core.ports import HasAudit, Transaction
from caredesk.services.engine.ports import HasApprovals, HasGrants, HasPolicies


class ConsoleUnit(
    HasConsole,
    HasCases,
    HasCustomers,
    HasAgents,
    HasTeams,
    HasGrants,
    HasApprovals,
    HasPolicies,
    HasTokens,
    HasPortal,
    HasAudit,
    Transaction,
    Protocol,
):
    """The console's pages: queues, the case page, approvals, the dashboard and admin."""
