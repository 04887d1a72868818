"""What the Zendesk-compatible API's services may reach."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.cases.unit import CasesUnit
from caredesk.services.console.unit import ConsoleUnit
from caredesk.services.core.ports import Transaction
from caredesk.services.zendesk.ports import HasTicketFields, HasUploads, HasUserIds


class ZendeskUnit(HasUserIds, Transaction, Protocol):
    """The user ids that customers and agents have in Zendesk's shapes."""


class TicketFieldsUnit(HasTicketFields, Transaction, Protocol):
    """The ticket fields' definitions an import kept."""


class PeopleUnit(ConsoleUnit, HasUserIds, Protocol):
    """The users of /api/v2: their ids, and the customers and agents they stand for (the
    console's unit reaches both the customers' and the agents' commands)."""


class TicketsUnit(CasesUnit, HasUserIds, HasUploads, Protocol):
    """What a ticket's change reaches: the case's own unit, the user ids its requester is
    named by, and the uploads its comment takes."""
