"""Loading the demo store: a generated shop with customers, orders, agents, its SLA, 90 days
of solved cases, and the five stories as the newest open cases.

Nothing is read from a data set. One seed and `now` decide everything, so two loads with the
same arguments produce the same store. A marker event, written last, says the store is there;
loading again then changes nothing. A load that died half-way is not resumed: start again from
an empty database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from caredesk.demo.catalogue import build_catalogue
from caredesk.demo.customers import Ids
from caredesk.demo.desk import Staff, build_staff, demo_policy_text, service_levels
from caredesk.demo.everyday import background_cases
from caredesk.demo.follow_ups import follow_up_orders
from caredesk.demo.history import HISTORY_DAYS, past_cases
from caredesk.demo.knowledge import load_demo_knowledge
from caredesk.demo.orders import random_customer
from caredesk.demo.stories import STORY_OWNERS, STORY_TAG, build_stories, open_story_case
from caredesk.demo.tables import check_all, staff_data
from caredesk.domain.agents import SYSTEM, Role
from caredesk.domain.customers import normalise_email
from caredesk.domain.errors import ValidationFailed
from caredesk.domain.events import Changed
from caredesk.services.access import auth
from caredesk.services.access.ports import PasswordHasher
from caredesk.services.engine import policy
from caredesk.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

DEMO_TOKEN_NAME = "demo"
DEFAULT_CUSTOMERS = 300
MARKER_ACTION = "demo.loaded"
MARKER_ENTITY = ("store", "demo")


@dataclass(frozen=True, slots=True)
class DemoSummary:
    admin_id: int
    created: bool
    seed: int
    counts: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str]] = field(default_factory=list)

    def describe(self) -> str:
        state = "loaded" if self.created else "already loaded; nothing changed"
        counted = ", ".join(f"{value:,} {name}" for name, value in self.counts.items())
        lines = [f"Demo store {state} (seed {self.seed}):", f"  {counted}"]
        lines.append(
            f"The {len(STORY_OWNERS)} story cases (tagged {STORY_TAG!r}), and who has each:"
        )
        width = max(len(key) for key, _, _ in STORY_OWNERS)
        lines += [f"  {key:<{width}}  {email:<24} {about}" for key, email, about in STORY_OWNERS]
        if self.logins:
            lines.append("Agents (all sign in with the admin's password):")
            lines += [f"  {role:<6} {email}" for email, role in self.logins]
        return "\n".join(lines)


def load_demo(
    uow_factory: UnitOfWorkFactory,
    hasher: PasswordHasher,
    now: datetime,
    *,
    seed: int,
    customers: int = DEFAULT_CUSTOMERS,
    admin_email: str,
    admin_password: str,
    timezone: str = "UTC",
) -> DemoSummary:
    """Generate the store: `customers` random customers plus the five story customers, with 90 days
    of solved cases behind the open ones, all timed by the SLA (business hours in `timezone`).

    Every agent gets `admin_password`. On a database that has the store already, only an
    admin missing under `admin_email` is added, so the printed sign-in always works.
    """
    if customers < 0:
        raise ValidationFailed("customers cannot be negative", details={"field": "customers"})
    if len(admin_password) < auth.MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"a password needs at least {auth.MIN_PASSWORD_LENGTH} characters",
            details={"field": "admin_password"},
        )
    admin_email = normalise_email(admin_email).lower()
    check_all()
    with uow_factory() as uow:
        marker = _marker(uow)
    if marker is not None:
        return _existing(uow_factory, hasher, now, marker, admin_email, admin_password)
    # Argon2 is slow on purpose: one hash serves every demo agent.
    password_hash = hasher.hash(admin_password)
    counts, staff = _generate(
        uow_factory, now, random.Random(seed), customers, admin_email, password_hash, timezone
    )
    admin_id = staff.agent_ids[admin_email]
    with uow_factory() as uow:
        uow.publish(
            Changed(
                actor=SYSTEM,
                at=now,
                action=MARKER_ACTION,
                entity_type=MARKER_ENTITY[0],
                entity_id=MARKER_ENTITY[1],
                after={"seed": seed, "admin_id": admin_id, "counts": counts},
            )
        )
        uow.commit()
    return DemoSummary(admin_id, True, seed, counts, staff.logins)


def _generate(
    uow_factory: UnitOfWorkFactory,
    now: datetime,
    rng: random.Random,
    customers: int,
    admin_email: str,
    password_hash: str,
    timezone: str,
) -> tuple[dict[str, int], Staff]:
    """The desk, the shop and its cases, in the order the random stream expects them."""
    policy.load_policy(uow_factory(), SYSTEM, now, demo_policy_text())
    calendar = service_levels(uow_factory, now, timezone, HISTORY_DAYS)
    staff = build_staff(uow_factory, now, admin_email, password_hash)
    ids = Ids(rng)
    products = build_catalogue(rng)
    stories = build_stories(rng, ids, products, now)
    demo_customers = [random_customer(rng, ids, products, now) for _ in range(customers)]
    everyone = [*(s.demo_customer for s in stories), *demo_customers]
    with uow_factory() as uow:
        for product in products.values():
            uow.products.add(product)
        for demo_customer in everyone:
            uow.customers.add(demo_customer.customer)
        for demo_customer in everyone:
            for order in demo_customer.orders:
                uow.orders.add(order)
        uow.commit()
    load_demo_knowledge(uow_factory, now)
    case_count = past_cases(uow_factory, rng, staff, demo_customers, now, calendar)
    case_count += background_cases(uow_factory, rng, staff, demo_customers, now)
    follow_up_orders(uow_factory, rng, ids, products, demo_customers, now)
    # Opened last and most recently, the stories head every queue sorted by age.
    for story in stories:
        open_story_case(uow_factory, staff, story, now)
    case_count += len(stories)
    counts = {
        "customers": len(everyone),
        "products": len(products),
        # Replacements the history's grants shipped are orders too.
        "orders": _order_count(uow_factory),
        "cases": case_count,
        "agents": len(staff.agent_ids),
        "teams": len(staff.team_ids),
    }
    return counts, staff


def _order_count(uow_factory: UnitOfWorkFactory) -> int:
    with uow_factory() as uow:
        return sum(1 for _ in uow.orders.iterate())


def _marker(uow: UnitOfWork) -> dict[str, Any] | None:
    for event in uow.audit.for_entity(*MARKER_ENTITY):
        if event.action == MARKER_ACTION:
            return dict(event.after or {})
    return None


def _existing(
    uow_factory: UnitOfWorkFactory,
    hasher: PasswordHasher,
    now: datetime,
    marker: dict[str, Any],
    admin_email: str,
    admin_password: str,
) -> DemoSummary:
    staff = staff_data()
    with uow_factory() as uow:
        agents = {a.email: a for a in uow.agents.all()}
    admin = agents.get(admin_email)
    if admin is None:
        admin = auth.create_agent(
            uow_factory(),
            SYSTEM,
            hasher,
            now,
            email=admin_email,
            name=staff.admin_name,
            role=Role.ADMIN,
            password=admin_password,
            team_names=list(staff.teams),
        )
    assert admin.id is not None
    logins = [(admin.email, admin.role.value)]
    logins += [(p.email, p.role.value) for p in staff.roster if p.email in agents]
    raw = marker.get("counts")
    if isinstance(raw, dict):
        counts = {str(k): int(v) for k, v in raw.items()}
    else:  # stores loaded before the marker carried every count
        counts = {k: int(marker[k]) for k in ("customers", "orders") if k in marker}
    return DemoSummary(admin.id, False, int(marker.get("seed", 0)), counts, logins)
