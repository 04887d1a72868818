"""What SLA policies and clocks may reach."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.cases.ports import HasCustomers
from caredesk.services.core.ports import HasJobs, Transaction
from caredesk.services.sla.ports import HasSla


class SlaUnit(HasJobs, HasCustomers, HasSla, Transaction, Protocol):
    """SLA policies, business calendars and clocks, and the jobs that watch them.

    With what the commands it calls touch: JobsUnit.
    """
