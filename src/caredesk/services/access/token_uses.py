"""When each API token was last used: noted in memory as calls arrive, written in batches.

Writing the time on the call itself would make every read a write (on SQLite, a turn at the
one write lock). A process notes each use here instead and writes what it noted about once a
minute, one statement for all its tokens; a process that dies loses at most that minute of
last-use times, which say when a token was last seen, not what it did (the audit log does).
"""

from __future__ import annotations

import threading
from datetime import datetime

from caredesk.services.access.unit import AccessUnit


class TokenUses:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._noted: dict[int, datetime] = {}

    def note(self, token_id: int, at: datetime) -> None:
        with self._lock:
            known = self._noted.get(token_id)
            if known is None or known < at:
                self._noted[token_id] = at

    def pending(self) -> int:
        with self._lock:
            return len(self._noted)

    def flush(self, uow: AccessUnit) -> int:
        """Write what was noted since the last flush; how many tokens it wrote."""
        with self._lock:
            noted, self._noted = self._noted, {}
        if not noted:
            return 0
        try:
            with uow:
                uow.tokens.record_uses(noted)
                uow.commit()
        except BaseException:
            # Kept for the next flush, merged with what was noted meanwhile.
            for token_id, at in noted.items():
                self.note(token_id, at)
            raise
        return len(noted)
