"""Failed-credential counts (services/access/throttle_ports.py) in the auth_throttles table."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m
from caredesk.adapters.db.rows import from_row, onto_row
from caredesk.domain.throttling import Throttle


class SqlThrottleRepository:
    def __init__(self, session: OrmSession) -> None:
        self.session = session

    def get(self, key: str) -> Throttle | None:
        row = self.session.get(m.AuthThrottleRow, key)
        return from_row(Throttle, row) if row else None

    def get_for_change(self, key: str) -> Throttle | None:
        row = self.session.scalar(
            select(m.AuthThrottleRow)
            .where(m.AuthThrottleRow.key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return from_row(Throttle, row) if row else None

    def save(self, throttle: Throttle) -> None:
        row = self.session.get(m.AuthThrottleRow, throttle.key)
        if row is None:
            # Two first failures at once both insert: the loser's unit of work is retried
            # (RetryableConflict) and then counts on top of the winner's row.
            row = m.AuthThrottleRow(key=throttle.key, kind=throttle.kind.value)
            self.session.add(row)
        onto_row(throttle, row, skip=("key", "kind"))
        self.session.flush()

    def delete(self, key: str) -> None:
        self.session.execute(delete(m.AuthThrottleRow).where(m.AuthThrottleRow.key == key))

    def locked(self, keys: Collection[str], now: datetime) -> dict[str, datetime]:
        if not keys:
            return {}
        rows = self.session.execute(
            select(m.AuthThrottleRow.key, m.AuthThrottleRow.locked_until).where(
                m.AuthThrottleRow.key.in_(list(keys)), m.AuthThrottleRow.locked_until > now
            )
        )
        return {key: until for key, until in rows if until is not None}
