"""What erasure and retention may reach.

Each unit lists every repository its commands touch, with those the commands of other
features they call touch (see "Narrow units of work" in docs/architecture.md)."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.core.ports import Transaction
from caredesk.services.privacy.ports import HasErasure


class ErasureUnit(HasErasure, Transaction, Protocol):
    """Erasure and retention."""
