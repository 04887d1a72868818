"""What the console's pages may read and do."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.channels.unit import PortalUnit
from caredesk.services.console.ports import HasConsole
from caredesk.services.core.ports import Transaction
from caredesk.services.sla.ports import HasSla


class ConsoleUnit(PortalUnit, HasConsole, HasSla, Transaction, Protocol):
    """The console's pages: queues, the case page, approvals and admin.

    The portal's unit (which reaches cases, the engine, knowledge, mail and access) with the
    console's queries and the SLA policies: the console calls the commands of every feature.
    """
