"""Leaving no copy of erased words in the database's files: FTS5 merges, checkpoints, VACUUM."""

from __future__ import annotations

import logging

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m

log = logging.getLogger("caredesk.erasure")

SQLITE_FTS = ("case_subject_fts", "message_fts", "search_fts")
# What an erasure or a retention run rewrites or deletes: vacuumed after it on PostgreSQL.
ERASURE_TABLES = (
    "customers",
    "customer_emails",
    "payment_methods",
    "orders",
    "cases",
    "messages",
    "mail_messages",
    "mail_failures",
    "outbox_mail",
    "blobs",
    "search_entries",
    "intent_labels",
    "case_handoffs",
    "commitments",
    "case_links",
    "satisfaction_surveys",
    "case_triage",
    "grants",
    "approvals",
    "ledger_entries",
    "audit_events",
    "webhook_deliveries",
    "jobs",
    "idempotency_keys",
    "portal_sign_ins",
    "portal_sessions",
    "api_tokens",
    "proactive_findings",
)


def optimise_fts(session: OrmSession) -> None:
    """SQLite's FTS5 keeps a removed text's words in its index segments until they are
    merged: merge them now, so the words are gone from the file too."""
    if session.get_bind().dialect.name != "sqlite":
        return
    for name in SQLITE_FTS:
        # The names are this module's constants, never input.
        session.execute(text(f"INSERT INTO {name}({name}) VALUES ('optimize')"))  # noqa: S608


class SqlStorageCompactor:
    """Frees the old copies of erased rows that the database files still hold."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def compact(self) -> None:
        if self.engine.dialect.name == "sqlite":
            # On the driver's connection, outside any transaction (the engine would begin
            # one, and a checkpoint cannot run inside it). TRUNCATE copies the log into
            # the database, whose freed pages secure_delete zeroed, and empties the log.
            raw = self.engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                busy = cursor.fetchone()
                cursor.close()
            finally:
                raw.close()
            if busy is not None and busy[0]:
                # A reader held the log: the next checkpoint (SQLite runs them itself)
                # copies it; an operator can run one with the desk stopped.
                log.warning("the write-ahead log could not be truncated: a reader held it")
            return
        if self.engine.dialect.name == "postgresql":
            names = [t for t in ERASURE_TABLES if t in m.Base.metadata.tables]
            # VACUUM cannot run in a transaction block: a connection of its own, autocommit.
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f"VACUUM {', '.join(names)}")
