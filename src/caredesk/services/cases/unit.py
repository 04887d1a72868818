"""The unit of work this feature's commands run in: the repositories they may reach."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.access.ports import HasAgents, HasTeams
from caredesk.services.cases.ports import HasBlobs, HasCases, HasCustomers, HasOrders, HasProducts
from caredesk.services.core.ports import HasAudit, Transaction


class CasesUnit(
    HasCustomers,
    HasProducts,
    HasOrders,
    HasCases,
    HasBlobs,
    HasAgents,
    HasTeams,
    HasAudit,
    Transaction,
    Protocol,
):
    """Cases, their messages and files, customers, the catalogue and orders."""
