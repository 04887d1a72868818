"""The unit of work this feature's commands run in: the repositories they may reach."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.access.ports import HasAgents, HasTeams
from caredesk.services.cases.ports import HasCases, HasCustomers, HasOrders
from caredesk.services.core.ports import HasAudit, Transaction
from caredesk.services.engine.ports import HasGrants
from caredesk.services.knowledge.ports import HasKnownIssues
from caredesk.services.lifecycle.ports import HasLifecycle


class LifecycleUnit(
    HasLifecycle,
    HasCases,
    HasCustomers,
    HasOrders,
    HasAgents,
    HasTeams,
    HasGrants,
    HasKnownIssues,
    HasAudit,
    Transaction,
    Protocol,
):
    """Escalation, commitments, repeat asks, routing, merges and the proactive scan."""
