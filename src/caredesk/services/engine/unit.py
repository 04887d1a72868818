"""The unit of work this feature's commands run in: the repositories they may reach."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.access.ports import HasTeams
from caredesk.services.cases.ports import HasCases, HasCustomers, HasOrders, HasProducts
from caredesk.services.core.ports import HasFormats, Transaction
from caredesk.services.engine.ports import HasApprovals, HasGrants, HasLedger, HasPolicies


class EngineUnit(
    HasGrants,
    HasApprovals,
    HasLedger,
    HasPolicies,
    HasCases,
    HasCustomers,
    HasOrders,
    HasProducts,
    HasTeams,
    HasFormats,
    Transaction,
    Protocol,
):
    """Plans, grants, approvals, the ledger and policy versions."""
