"""What a benchmark replay needs of its database beyond the services: a snapshot restored
before each task, and the rows a task changed, found without exporting every record.

The database is SQLite in memory; the snapshot is restored with SQLite's backup API, so
every task starts from exactly the imported store while the engine (and its
compiled-statement cache) lives on across tasks.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, select

from caredesk.adapters.db.models import CustomerRow, OrderRow, ProductRow, VariantRow


class SqliteReplayDatabase:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.snapshot = sqlite3.connect(":memory:")

    def save(self) -> None:
        """Keep the database as it is now, for `restore`."""
        self._copy(into_snapshot=True)

    def restore(self) -> None:
        self._copy(into_snapshot=False)

    def close(self) -> None:
        self.snapshot.close()

    def _copy(self, *, into_snapshot: bool) -> None:
        raw = self.engine.raw_connection()
        try:
            live = raw.driver_connection
            assert isinstance(live, sqlite3.Connection)
            if into_snapshot:
                live.backup(self.snapshot)
            else:
                self.snapshot.backup(live)
        finally:
            raw.close()

    def changed_order_ids(self) -> list[str]:
        """Orders written since they were stored: each write bumps a row's version."""
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(select(OrderRow.id).where(OrderRow.version > 1))]

    def changed_customer_ids(self) -> set[str]:
        with self.engine.connect() as conn:
            query = select(CustomerRow.id).where(CustomerRow.version > 1)
            return {r[0] for r in conn.execute(query)}

    def product_rows(self) -> dict[str, tuple[Any, ...]]:
        """Each product's stored rows (its own and its variants'), to spot a changed one."""
        rows: dict[str, list[Any]] = {}
        with self.engine.connect() as conn:
            for product in conn.execute(select(ProductRow.__table__)):
                rows.setdefault(product.id, []).append(tuple(product))
            variants = select(VariantRow.__table__).order_by(VariantRow.id)
            for variant in conn.execute(variants):
                rows.setdefault(variant.product_id, []).append(tuple(variant))
        return {k: tuple(v) for k, v in rows.items()}
