"""What the reports may read."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.core.ports import Transaction
from caredesk.services.core.unit import HasStaff
from caredesk.services.reports.ports import HasReports


class ReportsUnit(HasReports, HasStaff, Transaction, Protocol):
    """The reports' queries, and the agents and teams their filters name."""
