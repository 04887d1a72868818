"""Slow-changing configuration kept in each process's memory, checked against change stamps.

Nearly every request reads the same configuration: the token it came with and that token's
agent; every plan and case page asks which policy version is in force and lists the published
macros; a new case is triaged
against the known issues and by the intent model in force, routed by the routing rules, its
clocks set under the SLA policies and calendars, its events offered to the webhook
subscriptions; pages and grants name teams; mail goes out in the desk's templates.
It changes a few times a month, a token's last use once a minute.

Each kind has a row in `config_stamps` whose stamp, a random value, is written anew in the
transaction of every change to the kind: whatever writes one of its tables (`KIND_OF_TABLE`)
marks the kind changed, and the unit of work writes the new stamps just before it commits, so
whichever door a change came in by, its stamp moves with it or not at all.

A unit of work reads every stamp in one statement, the first time it needs any cached kind,
and uses what this process kept under that stamp, reading the kind from the database only when
the process kept nothing or kept it under another stamp. A change committed by any process is
seen by every process at its next unit of work. A stamp is random rather than counted, so that
a stamp seen once never comes back for other contents (a restored backup, a table emptied).

A unit of work that changed a kind reads that kind from the database until it ends: it sees
its own change, and keeps nothing of it, as it may yet roll back.

What is kept is shared by every unit of work of the process, in every thread: the
repositories hand out copies (`copied`) or read-only views, never the kept objects.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as OrmSession

from caredesk.adapters.db import models as m

T = TypeVar("T")
_STAMPS = cast(Table, m.ConfigStampRow.__table__)
# What a kind's stamp is while it has no row: it has not changed since the table was made.
_NEVER_CHANGED = ""


class ConfigKind(StrEnum):
    """Each kind of configuration with a stamp of its own."""

    SLA = "sla"
    ROUTING = "routing"
    KNOWN_ISSUES = "known_issues"
    WEBHOOKS = "webhooks"
    TEAMS = "teams"
    AGENTS = "agents"
    TOKENS = "tokens"
    MAIL_TEMPLATES = "mail_templates"
    INTENT_MODEL = "intent_model"
    POLICY = "policy"
    MACROS = "macros"


# The tables each kind is read from. Whatever writes one marks its kind changed: the kind's
# repository in each method that writes, and erasure's sweep for any row it scrubs.
KIND_OF_TABLE: Mapping[str, ConfigKind] = MappingProxyType(
    {
        "sla_policies": ConfigKind.SLA,
        "business_calendars": ConfigKind.SLA,
        "routing_rules": ConfigKind.ROUTING,
        "known_issues": ConfigKind.KNOWN_ISSUES,
        "webhook_subscriptions": ConfigKind.WEBHOOKS,
        "teams": ConfigKind.TEAMS,
        "agents": ConfigKind.AGENTS,
        "agent_teams": ConfigKind.AGENTS,
        "api_tokens": ConfigKind.TOKENS,
        "mail_templates": ConfigKind.MAIL_TEMPLATES,
        "intent_models": ConfigKind.INTENT_MODEL,
        "policy_versions": ConfigKind.POLICY,
        # Any article written may be, or become, a published macro.
        "kb_articles": ConfigKind.MACROS,
    }
)


@dataclass(frozen=True, eq=False)
class Cached(Generic[T]):
    """One thing a process keeps of a kind, and how it is read from the database.

    What `load` returns is shared by every unit of work: a tuple or a read-only mapping of
    records the repository copies as it hands them out (`copied`), of calendars it hands out
    only as the read-only `Clockwork`, or a plain value."""

    kind: ConfigKind
    load: Callable[[OrmSession], T]


class ConfigCache:
    """A process's copies, each with the stamp it was read under (one per unit of work
    factory, so one per process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[Cached[Any], tuple[str, Any]] = {}

    def get(self, cached: Cached[T], stamp: str, load: Callable[[], T]) -> T:
        """What was kept under `stamp`, or what `load` reads, kept under it from now on."""
        with self._lock:
            kept = self._kept.get(cached)
        if kept is not None and kept[0] == stamp:
            return cast(T, kept[1])
        # Two threads may both read it, or one under an older stamp replace what the other
        # kept: the next unit of work then reads it again. Nothing kept is older than its stamp.
        loaded = load()
        with self._lock:
            self._kept[cached] = (stamp, loaded)
        return loaded


class ConfigReads:
    """One unit of work's use of the cache: the stamps it read, the kinds it changed."""

    def __init__(self, session: OrmSession, cache: ConfigCache) -> None:
        self.session = session
        self.cache = cache
        self._stamps: dict[str, str] | None = None
        self._changed: set[ConfigKind] = set()

    def get(self, cached: Cached[T]) -> T:
        if cached.kind in self._changed:
            return cached.load(self.session)
        # The stamp is read before the contents: what is kept is at least as new as its stamp.
        stamp = self._stamp(cached.kind)
        return self.cache.get(cached, stamp, lambda: cached.load(self.session))

    def changed(self, kind: ConfigKind) -> None:
        """The unit of work changed this kind: its stamp moves when it commits."""
        self._changed.add(kind)

    def write_stamps(self) -> None:
        """A new stamp for every kind changed, in the transaction about to commit: one
        statement, in a fixed order, so that two such transactions never wait on each other
        crosswise."""
        if not self._changed:
            return
        rows = [{"kind": k.value, "stamp": uuid.uuid4().hex} for k in sorted(self._changed)]
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        statement = dialect.insert(_STAMPS).values(rows)
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[_STAMPS.c.kind], set_={"stamp": statement.excluded.stamp}
            )
        )

    def _stamp(self, kind: ConfigKind) -> str:
        if self._stamps is None:
            read = self.session.execute(select(_STAMPS.c.kind, _STAMPS.c.stamp))
            self._stamps = {row.kind: row.stamp for row in read}
        return self._stamps.get(kind.value, _NEVER_CHANGED)


def copied(record: T) -> T:
    """A copy of a kept record that its caller may change: a record whose fields hold strings,
    numbers, enums and frozen values, and lists, dicts or sets of them, each copied."""
    assert dataclasses.is_dataclass(record) and not isinstance(record, type)
    containers = {
        f.name: type(value)(value)
        for f in dataclasses.fields(record)
        if f.init and isinstance(value := getattr(record, f.name), list | dict | set)
    }
    return cast(T, dataclasses.replace(record, **containers))
