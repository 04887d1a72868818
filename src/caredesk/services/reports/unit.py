"""What the reports may read."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.core.ports import HasFormats, Transaction
from caredesk.services.core.unit import HasStaff
from caredesk.services.engine.ports import HasPolicies
from caredesk.services.reports.ports import HasReports
from caredesk.services.sla.ports import HasSla


class ReportsUnit(HasReports, HasStaff, HasSla, HasPolicies, HasFormats, Transaction, Protocol):
    """The reports' queries, the agents, teams and policy remedies their filters name, and
    the business calendars their working hours count in."""
