"""A canonical export of a generated store and its fingerprint: everything the demo decides
(customers, catalogue, orders, cases and their messages, clocks, handoffs and grants with
their ledger entries, surveys, staff, SLA, knowledge, the policy), in a stable order.

Database-assigned ids are replaced by what they stand for (a case by its place among the
cases, an agent by email, a team by name), and secrets (password and token hashes) are left
out, so the same seed gives the same fingerprint on every backend and on every run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from caredesk.bootstrap import Container
from caredesk.domain.cases import Case
from caredesk.services.unit_of_work import UnitOfWork
from tests.reading import all_cases

# Fields that only a database or a secret decides, or that repeat a database id.
LEFT_OUT = frozenset(
    {"id", "grant_id", "password_hash", "token_hash", "fingerprint", "actor", "events"}
)


class _Names:
    """What each database-assigned id stands for."""

    def __init__(self, uow: UnitOfWork, cases: list[Case]) -> None:
        self.agents = {a.id: a.email for a in uow.agents.all()}
        self.teams = {t.id: t.name for t in uow.teams.all()}
        self.cases = {c.id: number for number, c in enumerate(cases, start=1)}
        self.calendars = {c.id: c.name for c in uow.sla.calendars()}
        self.policies = {p.id: p.name for p in uow.sla.policies()}
        self.articles = {a.id: a.slug for a in uow.articles.iterate()}
        self.by_field: dict[str, dict[Any, Any]] = {
            "assignee_id": self.agents,
            "agent_id": self.agents,
            "author_agent_id": self.agents,
            "from_agent_id": self.agents,
            "to_agent_id": self.agents,
            "team_id": self.teams,
            "to_team_id": self.teams,
            "case_id": self.cases,
            "calendar_id": self.calendars,
            "policy_id": self.policies,
            "article_id": self.articles,
        }

    def plain(self, value: Any, name: str = "") -> Any:
        if name in self.by_field and value is not None:
            return self.by_field[name][value]
        if name == "team_ids":
            return [self.teams[t] for t in value]
        if name == "idempotency_key" and value:
            # The history's keys name the case by its database id.
            prefix, _, case_id = str(value).rpartition("-")
            return f"{prefix}-{self.cases[int(case_id)]}"
        if is_dataclass(value) and not isinstance(value, type):
            return {
                f.name: self.plain(getattr(value, f.name), f.name)
                for f in fields(value)
                if f.name not in LEFT_OUT and not f.name.startswith("_")
            }
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, Decimal):
            return f"{value:.4f}"
        if isinstance(value, float):
            return f"{value:.6f}"
        if isinstance(value, dict):
            return {
                str(k): self.plain(v) for k, v in sorted(value.items(), key=lambda i: str(i[0]))
            }
        if isinstance(value, set | frozenset):
            return sorted((self.plain(v) for v in value), key=repr)
        if isinstance(value, list | tuple):
            return [self.plain(v) for v in value]
        return value


def _all_cases(uow: UnitOfWork) -> list[Case]:
    return sorted(all_cases(uow), key=lambda c: (c.created_at, c.subject, c.customer_id))


def export_store(container: Container) -> dict[str, Any]:
    with container.uow() as uow:
        everything = _all_cases(uow)
        names = _Names(uow, everything)
        plain = names.plain
        threads = []
        for case in everything:
            assert case.id is not None
            grants = [
                {"grant": plain(g), "ledger": plain(uow.ledger.for_grant(g.id))}
                for g in uow.grants.for_case(case.id)
                if g.id is not None
            ]
            threads.append(
                {
                    "case": plain(case),
                    "messages": plain(uow.cases.messages(case.id)),
                    "clocks": plain(
                        sorted(uow.sla.clocks(case.id), key=lambda c: (c.metric, c.cycle))
                    ),
                    "handoffs": plain(uow.lifecycle.handoffs(case.id)),
                    "grants": grants,
                }
            )
        surveys = sorted(
            plain(uow.portal.surveys(answered_since=None, limit=100_000)),
            key=lambda s: (s["case_id"], s["sent_at"]),
        )
        active = uow.policies.active()
        return {
            "customers": plain(sorted(uow.customers.iterate(), key=lambda c: c.id)),
            "products": plain(sorted(uow.products.iterate(), key=lambda p: p.id)),
            "orders": plain(sorted(uow.orders.iterate(), key=lambda o: o.id)),
            "cases": threads,
            "surveys": surveys,
            "agents": sorted(plain(uow.agents.all()), key=lambda a: a["email"]),
            "teams": sorted(names.teams.values()),
            "calendars": plain(uow.sla.calendars()),
            "sla_policies": plain(uow.sla.policies()),
            "articles": sorted(plain(list(uow.articles.iterate())), key=lambda a: a["slug"]),
            "known_issues": plain(uow.known_issues.all()),
            "policy": None if active is None else [active.version, active.text],
        }


def fingerprint(container: Container) -> str:
    canonical = json.dumps(export_store(container), sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()
