"""What planning and granting may reach."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.access.ports import HasTeams
from caredesk.services.cases.ports import HasProducts
from caredesk.services.core.ports import HasFormats, HasJobs, Transaction
from caredesk.services.core.unit import HasCaseRecords, HasMoney


class EngineUnit(
    HasCaseRecords, HasMoney, HasFormats, HasJobs, HasTeams, HasProducts, Transaction, Protocol
):
    """Plans, grants, approvals, the ledger and policy versions.

    With what the commands it calls touch: JobsUnit.
    """
