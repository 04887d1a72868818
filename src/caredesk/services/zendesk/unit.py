"""What the Zendesk-compatible API's services may reach."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.cases.unit import CasesUnit
from caredesk.services.core.ports import Transaction
from caredesk.services.zendesk.ports import HasUploads, HasUserIds


class ZendeskUnit(HasUserIds, Transaction, Protocol):
    """The user ids that customers and agents have in Zendesk's shapes."""


class TicketsUnit(CasesUnit, HasUserIds, HasUploads, Protocol):
    """What a ticket's change reaches: the case's own unit, the user ids its requester is
    named by, and the uploads its comment takes."""
