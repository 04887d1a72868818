"""What the cases' commands may reach."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.cases.ports import HasBlobs, HasProducts
from caredesk.services.core.ports import Transaction
from caredesk.services.core.unit import HasCaseRecords, HasFollowOns, HasStaff
from caredesk.services.lifecycle.ports import HasLifecycle
from caredesk.services.sla.ports import HasSla


class CasesUnit(
    HasStaff,
    HasCaseRecords,
    HasFollowOns,
    HasProducts,
    HasBlobs,
    HasLifecycle,
    HasSla,
    Transaction,
    Protocol,
):
    """Cases, their messages and files, customers, the catalogue and orders.

    With what the commands it calls touch: AuditUnit, LifecycleUnit, and the SLA a new case
    is answered with.
    """
