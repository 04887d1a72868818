"""What SLA policies and clocks may reach.

Each unit lists every repository its commands touch, with those the commands of other
features they call touch (see "Narrow units of work" in docs/architecture.md)."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.cases.ports import HasCustomers
from caredesk.services.core.ports import HasJobs, Transaction
from caredesk.services.sla.ports import HasSla


class SlaUnit(HasJobs, HasCustomers, HasSla, Transaction, Protocol):
    """SLA policies, business calendars and clocks, and the jobs that watch them.

    With what the commands it calls touch: JobsUnit.
    """
