"""What erasure and retention may reach."""

from __future__ import annotations

from typing import Protocol

from caredesk.services.core.ports import Transaction
from caredesk.services.privacy.ports import HasErasure


class ErasureUnit(HasErasure, Transaction, Protocol):
    """Erasure and retention."""
