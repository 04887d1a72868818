"""What erasure and retention need from storage."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from caredesk.domain.erasure import ErasureCounts, PersonalData, RetentionCutoffs


class ErasureStore(Protocol):
    def personal_data(self, customer_id: str) -> tuple[PersonalData, datetime | None] | None:
        """The customer's identifying data and when they were erased (None: not yet);
        None when there is no such customer."""
        ...

    def erase_customer(self, person: PersonalData, now: datetime) -> ErasureCounts:
        """Replace the person's data everywhere with their tombstone, in this transaction."""
        ...

    def retention_counts(self, cutoffs: RetentionCutoffs) -> ErasureCounts:
        """What a retention run with these cutoffs would remove; changes nothing."""
        ...

    def apply_retention(self, cutoffs: RetentionCutoffs, now: datetime) -> ErasureCounts:
        """Remove what is older than the cutoffs, in this transaction."""
        ...


class StorageCompactor(Protocol):
    def compact(self) -> None:
        """After an erasure committed: leave no copy of the old bytes in the database's
        files (SQLite: checkpoint the write-ahead log; PostgreSQL: vacuum the tables)."""
        ...


# A unit of work that reaches these repositories: features compose their own unit from these.
class HasErasure(Protocol):
    @property
    def erasure(self) -> ErasureStore: ...
