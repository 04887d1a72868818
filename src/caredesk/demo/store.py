"""The demo store: a generated shop with customers, orders, agents, its SLA, 90 days of
solved cases, and the five stories as the newest open cases.

The history goes through the same commands as the console, with `now` set in the past, so
its clocks, grants (orders, ledger), handoffs, surveys and audit trail are the real thing.
Nothing is read from a data set. One seed and `now` decide everything, so two loads with the
same arguments produce the same store. A marker event, written last, says the store is there;
loading again then changes nothing. A load that died half-way is not resumed: start again from
an empty database.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import yaml

from caredesk.demo.knowledge import load_demo_knowledge
from caredesk.domain.agents import SYSTEM, Actor, Agent, Role
from caredesk.domain.calendars import ALWAYS_OPEN, US_PER_MINUTE, Clockwork, from_us, to_us
from caredesk.domain.cases import CaseStatus, Channel, CustomValue, MessageKind, Priority
from caredesk.domain.catalog import Product, Variant
from caredesk.domain.customers import (
    Address,
    Customer,
    PaymentKind,
    PaymentMethod,
    normalise_email,
)
from caredesk.domain.errors import ValidationFailed
from caredesk.domain.events import Changed
from caredesk.domain.money import CENT, ZERO, money_sum
from caredesk.domain.orders import (
    Fulfilment,
    Order,
    OrderLine,
    OrderStatus,
    PaymentTransaction,
    TransactionType,
)
from caredesk.services.access import auth
from caredesk.services.cases import cases
from caredesk.services.channels import portal
from caredesk.services.core.ports import PasswordHasher, UnitOfWork, UnitOfWorkFactory
from caredesk.services.engine import grants, policy
from caredesk.services.lifecycle import lifecycle
from caredesk.services.sla import sla

DEMO_TOKEN_NAME = "demo"
DEFAULT_CUSTOMERS = 300
STORY_TAG = "seed-story"
ALEX, PRIYA, SAM = "alex@caredesk.example", "priya@caredesk.example", "sam@caredesk.example"
# story, the agent it is assigned to now (sign in as them to work it), what it is about
STORY_OWNERS = (
    ("label-printer", ALEX, "Graham's label printer"),
    ("missed-date", PRIYA, "Dana's standing desk"),
    ("wrong-items", ALEX, "Maya's party dresses"),
    ("new-baby", PRIYA, "Lucia's baby monitor"),
    ("escalated-script", SAM, "Ray's espresso machine"),
)
# Every story case opened within this long before `now`, and no other open case did.
STORIES_WITHIN = timedelta(hours=72)
MARKER_ACTION = "demo.loaded"
MARKER_ENTITY = ("store", "demo")

LABELWRITER_ISSUE = "labelwriter-350-os-upgrade"
LABELWRITER_350 = "inkwell-labelwriter-350"
LABELWRITER_450 = "inkwell-labelwriter-450"
LABELWRITER_450_VARIANT = "inkwell-labelwriter-450-usb"

# Names are written as prose: a list literal would put each of them on its own line.
FIRST_NAMES = (  # noqa: SIM905
    "Olivia Liam Emma Noah Ava Elijah Sophia James Isabella Lucas Mia Mateo Amelia Ethan "
    "Harper Aiden Evelyn Leo Abigail Henry Ella Jack Grace Owen Chloe Samuel Nora Daniel Zoe "
    "Ruth Omar Priya Kenji Aisha Tomas Ingrid Rafael Mei Yusuf Hana Dmitri Amara Luca Freya "
    "Diego Leila Marcus Keisha Andre Sofia Wei Fatima Connor Imani Arjun Rosa Malik Elena "
    "Hiroshi Naomi Felix Camila Tariq Beatrice Kwame Lucy Theo Anika Ibrahim Clara"
).split()
LAST_NAMES = (  # noqa: SIM905
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Kim Okafor Patel Chen Novak Schmidt Kowalski Haddad Mensah Silva Ito Larsen "
    "Murphy Costa Ivanova Singh Fischer Dubois Rossi Yamamoto Andersen"
).split()
STREETS = ("Oak", "Maple", "Cedar", "Pine", "Elm", "Lake", "Hill", "Park", "River", "Willow")
STREET_KINDS = ("Street", "Avenue", "Road", "Lane", "Drive", "Court")
# city, state, first three digits of its zip codes, area code
CITIES = (
    ("Denver", "CO", "802", "303"),
    ("Austin", "TX", "787", "512"),
    ("Portland", "OR", "972", "503"),
    ("Chicago", "IL", "606", "312"),
    ("Boston", "MA", "021", "617"),
    ("Seattle", "WA", "981", "206"),
    ("Atlanta", "GA", "303", "404"),
    ("Phoenix", "AZ", "850", "602"),
    ("Minneapolis", "MN", "554", "612"),
    ("Raleigh", "NC", "276", "919"),
    ("San Diego", "CA", "921", "619"),
    ("Columbus", "OH", "432", "614"),
    ("Nashville", "TN", "372", "615"),
    ("Philadelphia", "PA", "191", "215"),
)
# Reserved for documentation, so no real mailbox is ever written to.
DOMAINS = ("example.com", "example.org", "example.net")
CARD_BRANDS = ("visa", "mastercard", "amex", "discover")
CARRIERS = ("UPS", "FedEx", "USPS", "DHL")
ORDER_COUNT_WEIGHTS = (10, 14, 13, 11, 9, 8, 7, 6, 5, 4, 3, 3, 2, 2, 1, 1)  # 0 to 15 orders
LINE_COUNT_WEIGHTS = (55, 28, 12, 5)  # 1 to 4 lines
# Lifetime spend (orders not cancelled) that earns each tier, highest first.
TIER_THRESHOLDS = (("vip", Decimal(2250)), ("gold", Decimal(1500)), ("silver", Decimal(750)))


# category | name | base price | options (axis=value,value; a "+N" suffix adds N to the price),
# then an indented line describing the product.
CATALOGUE = """
office | Inkwell LabelWriter 350 | 89.00 | connection=USB
    A compact thermal printer for address and shipping labels.
office | Inkwell LabelWriter 450 | 109.00 | connection=USB,USB + Wi-Fi+20
    The LabelWriter 350's successor, with drivers for current operating systems.
office | Inkwell Address Labels | 14.00 | size=28x89mm,36x89mm,54x101mm
    Rolls of thermal labels for the LabelWriter printers.
office | Standing Desk | 249.00 | width=120cm,140cm+40; delivery=curbside,white-glove assembly+49
    An electric sit-stand desk; white-glove delivery books a date and assembles it.
office | Office Chair | 249.00 | color=black,grey; armrest=fixed,adjustable+30
    A mesh task chair with lumbar support.
office | Desk Lamp | 39.00 | finish=black,white,brass+10
    A dimmable LED lamp with an adjustable arm.
office | Notebook Set | 14.00 | ruling=lined,dotted,blank
    Three A5 notebooks with lay-flat binding.
office | Fountain Pen | 32.00 | nib=fine,medium,broad+4
    A steel-nib fountain pen with a converter.
clothing | Girls' Party Dress | 24.00 | size=4,6,8,10; color=rose,navy
    A twirly cotton party dress with a tulle underskirt.
clothing | Kids' T-Shirt | 12.00 | size=4,6,8,10; color=yellow,green
    A soft organic-cotton t-shirt.
clothing | Kids' Rain Jacket | 45.00 | size=6,8,10
    A waterproof, breathable jacket with a hood.
clothing | Women's Linen Shirt | 58.00 | size=XS,S,M,L,XL; color=white,sage
    A relaxed linen shirt.
clothing | Men's Chinos | 64.00 | waist=30,32,34,36; color=khaki,navy
    Slim stretch-cotton chinos.
clothing | Merino Socks 3-Pack | 21.00 | size=S/M,L/XL
    Three pairs of merino wool socks.
kitchen | Espresso Machine | 319.00 | finish=steel,black
    A 15-bar pump espresso machine with a steam wand.
kitchen | Electric Kettle | 49.00 | capacity=1L,1.7L+10
    A stainless kettle with temperature presets.
kitchen | Stoneware Mug Set | 28.00 | glaze=white,speckled
    Four hand-glazed stoneware mugs.
kitchen | Blender | 89.00 | power=600W,1000W+30
    A countertop blender with a glass jug.
kitchen | Chef's Knife | 75.00 | length=6in,8in+10
    A forged steel chef's knife.
kitchen | Cast Iron Skillet | 42.00 | diameter=25cm,30cm+12
    A pre-seasoned cast iron skillet.
electronics | Wireless Headphones | 149.00 | color=black,silver
    Over-ear headphones with noise cancelling.
electronics | Bluetooth Speaker | 79.00 | color=red,blue,black
    A splash-proof portable speaker.
electronics | USB-C Charger | 29.00 | power=30W,65W+10
    A compact GaN wall charger.
electronics | Wireless Mouse | 35.00 | color=black,white
    A quiet-click rechargeable mouse.
electronics | Mechanical Keyboard | 119.00 | switch=red,brown,blue
    A tenkeyless keyboard with hot-swap switches.
electronics | E-Reader | 139.00 | storage=8GB,32GB+30
    A glare-free 6-inch e-ink reader.
outdoor | Two-Person Tent | 189.00 | color=green,orange
    A freestanding three-season backpacking tent.
outdoor | Hiking Backpack | 99.00 | size=28L,40L+20
    A ventilated daypack with a rain cover.
outdoor | Insulated Water Bottle | 24.00 | capacity=500ml,1000ml+6; color=blue,black
    Keeps drinks cold for a day.
outdoor | Camping Stove | 65.00 | fuel=gas
    A one-burner stove that folds into its pot.
outdoor | Sleeping Bag | 119.00 | rating=3-season,4-season+40
    A synthetic mummy bag with a compression sack.
baby | Baby Stroller | 399.00 | color=charcoal,sand
    A one-hand-fold stroller, suitable from birth.
baby | Baby Monitor | 129.00 | range=standard,long+20
    A video monitor with night vision.
baby | Swaddle Blankets | 34.00 | pattern=stars,clouds
    Three muslin swaddles.
baby | Baby Carrier | 89.00 | color=grey,navy
    An ergonomic carrier for newborns to toddlers.
fitness | Yoga Mat | 42.00 | thickness=4mm,6mm+6; color=teal,plum
    A grippy natural-rubber mat.
fitness | Dumbbell Pair | 59.00 | weight=5kg,10kg+30
    Two neoprene-coated dumbbells.
fitness | Running Shoes | 119.00 | size=7,8,9,10,11
    Cushioned daily trainers.
fitness | Resistance Bands | 19.00 | level=light,medium,heavy
    A latex-free loop band.
home | Wool Throw Blanket | 69.00 | color=oatmeal,charcoal
    A woven lambswool throw.
home | Scented Candle | 18.00 | scent=cedar,fig,linen
    A soy wax candle with a 40-hour burn.
home | Bath Towel Set | 48.00 | color=white,slate
    Two bath towels and two hand towels.
"""
# What the goods cost the store, as a share of the price; always below 1.
COST_RATES = {
    "office": Decimal("0.55"),
    "clothing": Decimal("0.38"),
    "kitchen": Decimal("0.50"),
    "electronics": Decimal("0.66"),
    "outdoor": Decimal("0.50"),
    "baby": Decimal("0.52"),
    "fitness": Decimal("0.45"),
    "home": Decimal("0.42"),
}
# The desk's SLA: business hours in the desk's time zone, and a policy per priority.
# Urgent cases run round the clock; the others count only the hours the desk is open.
CALENDAR_NAME = "Standard"
OPENING_HOURS = {day: ["08:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
HOLIDAYS = ((1, 1), (7, 4), (12, 25), (12, 26))  # month, day; every year the history spans
# name, priority, on the business calendar, minutes to first reply, next reply, resolution
SLA_TARGETS = (
    ("Urgent", Priority.URGENT, False, 60, 120, 8 * 60),
    ("High", Priority.HIGH, True, 120, 240, 2 * 600),
    ("Normal", Priority.NORMAL, True, 240, 480, 3 * 600),
    ("Low", Priority.LOW, True, 480, 960, 5 * 600),
)
# How far back the store's case history goes.
HISTORY_DAYS = 90
HISTORY_CASES = 90

# Days before `now` when a product was first and last sold: the 450 replaced the 350.
SALE_WINDOWS: dict[str, tuple[int | None, int | None]] = {
    LABELWRITER_350: (None, 700),
    LABELWRITER_450: (730, None),
}


@dataclass(frozen=True, slots=True)
class _Person:
    email: str
    name: str
    role: Role
    teams: tuple[str, ...]


TEAMS = ("Front line", "Tier 2", "Billing")
ADMIN_NAME = "Desk Admin"
ROSTER = (
    _Person("lena.lead@caredesk.example", "Lena Park", Role.LEAD, ("Front line", "Tier 2")),
    _Person("omar.lead@caredesk.example", "Omar Haddad", Role.LEAD, ("Tier 2", "Billing")),
    _Person(ALEX, "Alex Rivera", Role.AGENT, ("Front line",)),
    _Person("erin.editor@caredesk.example", "Erin Walsh", Role.EDITOR, ("Front line",)),
    _Person(PRIYA, "Priya Nair", Role.AGENT, ("Front line",)),
    _Person(SAM, "Sam Osei", Role.AGENT, ("Tier 2",)),
    _Person("jo@caredesk.example", "Jo Bauer", Role.AGENT, ("Billing",)),
    _Person("vic.viewer@caredesk.example", "Vic Moreau", Role.VIEWER, ()),
)


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
        lines.append(f"The {len(STORIES)} story cases (tagged {STORY_TAG!r}), and who has each:")
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
    """Generate the store: `customers` shoppers plus the five story customers, with 90 days
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
    with uow_factory() as uow:
        marker = _marker(uow)
    if marker is not None:
        return _existing(uow_factory, hasher, now, marker, admin_email, admin_password)

    rng = random.Random(seed)
    policy.load_policy(uow_factory(), SYSTEM, now, _demo_policy_text())
    calendar = _service_levels(uow_factory, now, timezone)
    # Argon2 is slow on purpose: one hash serves every demo agent.
    password_hash = hasher.hash(admin_password)
    staff = _staff(uow_factory, now, admin_email, password_hash)

    ids = _Ids(rng)
    products = _catalogue(rng)
    stories = [build(rng, ids, products, now) for build in STORIES]
    shoppers = [_shopper(rng, ids, products, now) for _ in range(customers)]
    everyone = [*(s.shopper for s in stories), *shoppers]
    with uow_factory() as uow:
        for product in products.values():
            uow.products.add(product)
        for shopper in everyone:
            uow.customers.add(shopper.customer)
        for shopper in everyone:
            for order in shopper.orders:
                uow.orders.add(order)
        uow.commit()

    load_demo_knowledge(uow_factory, now, LABELWRITER_ISSUE)
    case_count = _past_cases(uow_factory, rng, staff, shoppers, now, calendar)
    case_count += _background_cases(uow_factory, rng, staff, shoppers, now)
    # Opened last and most recently, the stories head every queue sorted by age.
    for story in stories:
        _open_story_case(uow_factory, staff, story, now)
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
            name=ADMIN_NAME,
            role=Role.ADMIN,
            password=admin_password,
            team_names=list(TEAMS),
        )
    assert admin.id is not None
    logins = [(admin.email, admin.role.value)]
    logins += [(p.email, p.role.value) for p in ROSTER if p.email in agents]
    raw = marker.get("counts")
    if isinstance(raw, dict):
        counts = {str(k): int(v) for k, v in raw.items()}
    else:  # stores loaded before the marker carried every count
        counts = {k: int(marker[k]) for k in ("customers", "orders") if k in marker}
    return DemoSummary(admin.id, False, int(marker.get("seed", 0)), counts, logins)


def _demo_policy_text() -> str:
    """The default policy plus the demo's known-issue program for the old label printer."""
    data: dict[str, Any] = yaml.safe_load(policy.packaged_policy_text("default"))
    data["version"] = f"{data['version']}+demo"
    data["programs"] = [
        {
            "id": "labelwriter-upgrade",
            "known_issue": LABELWRITER_ISSUE,
            "remedy": "upgrade-known-issue",
            "params": {
                "upgrade_to": LABELWRITER_450_VARIANT,
                "upgrade_name": "Inkwell LabelWriter 450",
                "product_ids": [LABELWRITER_350],
            },
            "description": "The LabelWriter 350 fails after the OS upgrade; send a 450 free.",
        }
    ]
    return yaml.safe_dump(data, sort_keys=False)


def _service_levels(uow_factory: UnitOfWorkFactory, now: datetime, timezone: str) -> Clockwork:
    """The business calendar and one SLA policy per priority, in force since before the
    history starts, so every case the demo opens runs its clocks."""
    since = now - timedelta(days=HISTORY_DAYS + 1)
    years = range(since.year, now.year + 2)
    calendar = sla.create_calendar(
        uow_factory(),
        SYSTEM,
        since,
        name=CALENDAR_NAME,
        timezone=timezone,
        hours=OPENING_HOURS,
        holidays=[date(year, month, day) for year in years for month, day in HOLIDAYS],
    )
    for position, (name, priority, business, first, following, resolution) in enumerate(
        SLA_TARGETS, start=1
    ):
        sla.create_policy(
            uow_factory(),
            SYSTEM,
            since,
            name=name,
            targets={"first_reply": first, "next_reply": following, "resolution": resolution},
            calendar_id=calendar.id if business else None,
            match={"priorities": [priority.value]},
            position=position * 10,
        )
    return calendar


# -- the people at the desk --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Staff:
    team_ids: dict[str, int]
    agent_ids: dict[str, int]
    logins: list[tuple[str, str]]

    def actor(self, email: str, role: Role = Role.AGENT) -> Actor:
        return Actor(role=role, agent_id=self.agent_ids[email])

    def members(self, team: str) -> list[str]:
        return [p.email for p in ROSTER if p.role is Role.AGENT and team in p.teams]


def _staff(
    uow_factory: UnitOfWorkFactory, now: datetime, admin_email: str, password_hash: str
) -> _Staff:
    """Teams through the service; agents written directly, because `create_agent` hashes."""
    with uow_factory() as uow:
        known = {t.name: t.id for t in uow.teams.all() if t.id is not None}
    team_ids = {}
    for name in TEAMS:
        team_id = known.get(name)
        if team_id is None:
            team_id = auth.create_team(uow_factory(), SYSTEM, now, name).id
        assert team_id is not None
        team_ids[name] = team_id
    people = (_Person(admin_email, ADMIN_NAME, Role.ADMIN, TEAMS), *ROSTER)
    agent_ids: dict[str, int] = {}
    with uow_factory() as uow:
        for person in people:
            existing = uow.agents.get_by_email(person.email)
            if existing is not None and existing.id is not None:
                agent_ids[person.email] = existing.id
                continue
            agent = Agent(
                id=None,
                email=person.email,
                name=person.name,
                role=person.role,
                password_hash=password_hash,
                team_ids=[team_ids[t] for t in person.teams],
            )
            uow.agents.add(agent)
            assert agent.id is not None
            agent_ids[person.email] = agent.id
            uow.publish(
                Changed(
                    actor=SYSTEM,
                    at=now,
                    action="agent.created",
                    entity_type="agent",
                    entity_id=agent.id,
                    after={
                        "email": agent.email,
                        "role": agent.role.value,
                        "team_ids": agent.team_ids,
                    },
                )
            )
        uow.commit()
    logins = [(p.email, p.role.value) for p in people]
    return _Staff(team_ids, agent_ids, logins)


# -- catalogue, customers and orders -----------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower().replace("'", "")).strip("-")


def _category(product: Product) -> str:
    return product.description.partition(":")[0].lower()


def _letters(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


@dataclass(slots=True)
class _Spec:
    category: str
    name: str
    price: Decimal
    # each axis with its values and what each value adds to the price
    axes: list[tuple[str, list[tuple[str, Decimal]]]]
    blurb: str = ""

    def combinations(self) -> list[tuple[dict[str, str], Decimal]]:
        combos: list[tuple[dict[str, str], Decimal]] = [({}, self.price)]
        for axis, values in self.axes:
            combos = [
                ({**options, axis: value}, price + extra)
                for options, price in combos
                for value, extra in values
            ]
        return combos


def _specs() -> list[_Spec]:
    specs: list[_Spec] = []
    for line in CATALOGUE.strip("\n").splitlines():
        if line.startswith(" "):
            specs[-1].blurb = line.strip()
            continue
        category, name, price, options = (part.strip() for part in line.split("|"))
        axes = []
        for axis_text in options.split(";"):
            axis, _, values = axis_text.strip().partition("=")
            parsed = []
            for value in values.split(","):
                label, plus, extra = value.rpartition("+")
                if plus and extra.isdigit():
                    parsed.append((label, Decimal(extra)))
                else:
                    parsed.append((value, ZERO))
            axes.append((axis, parsed))
        specs.append(_Spec(category, name, Decimal(price), axes))
    return specs


def _catalogue(rng: random.Random) -> dict[str, Product]:
    products: dict[str, Product] = {}
    for number, spec in enumerate(_specs(), start=1):
        product_id = _slug(spec.name)
        variants = []
        for position, (options, price) in enumerate(spec.combinations(), start=1):
            rate = COST_RATES[spec.category] * Decimal(rng.randint(90, 110)) / 100
            variants.append(
                Variant(
                    id=_slug(" ".join([spec.name, *options.values()])),
                    product_id=product_id,
                    options=options,
                    price=price.quantize(CENT),
                    available=rng.random() > 0.08,
                    cost=(price * rate).quantize(CENT),
                    sku=f"{spec.category[:3].upper()}-{number:03d}-{position:02d}",
                )
            )
        description = f"{spec.category.capitalize()}: {spec.blurb}"
        products[product_id] = Product(product_id, spec.name, description, variants)
    for variant in products[LABELWRITER_350].variants:
        variant.available = False  # discontinued
    for variant in products[LABELWRITER_450].variants:
        variant.available = True
    return products


def _on_sale(product_id: str, placed: datetime, now: datetime) -> bool:
    first, last = SALE_WINDOWS.get(product_id, (None, None))
    days_ago = (now - placed).days
    return (first is None or days_ago <= first) and (last is None or days_ago >= last)


class _Ids:
    """Unique, realistic-looking ids and addresses, drawn from the shared random stream."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _fresh(self, make: Callable[[], str]) -> str:
        while True:
            value = make()
            if value not in self.used:
                self.used.add(value)
                return value

    def customer(self, first: str, last: str) -> str:
        return self._fresh(
            lambda: f"{_letters(first)}_{_letters(last)}_{self.rng.randint(1000, 9999)}"
        )

    def email(self, first: str, last: str) -> str:
        f, l_ = _letters(first), _letters(last)
        local = self.rng.choice((f"{f}.{l_}", f"{f[0]}{l_}", f"{f}{l_[0]}", f"{f}_{l_}"))
        domain = self.rng.choice(DOMAINS)
        candidate = f"{local}@{domain}"
        if candidate not in self.used:
            self.used.add(candidate)
            return candidate
        return self._fresh(lambda: f"{local}{self.rng.randint(2, 99)}@{domain}")

    def order(self) -> str:
        return self._fresh(lambda: f"W{self.rng.randint(1_000_000, 9_999_999)}")

    def payment(self, kind: PaymentKind) -> str:
        return self._fresh(lambda: f"{kind.value}_{self.rng.randint(1_000_000, 9_999_999)}")

    def tracking(self, carrier: str) -> str:
        rng = self.rng
        if carrier == "UPS":
            alphabet = "0123456789ABCDEFGHJKLMNPRSTVWXYZ"
            return self._fresh(lambda: "1Z" + "".join(rng.choices(alphabet, k=16)))
        if carrier == "USPS":
            return self._fresh(lambda: f"9400{rng.randint(10**17, 10**18 - 1)}")
        if carrier == "FedEx":
            return self._fresh(lambda: str(rng.randint(10**11, 10**12 - 1)))
        return self._fresh(lambda: str(rng.randint(10**9, 10**10 - 1)))


@dataclass(slots=True)
class _Shopper:
    customer: Customer
    orders: list[Order] = field(default_factory=list)
    # What is left on each gift card, spent and refunded as orders are placed.
    balances: dict[str, Decimal] = field(default_factory=dict)

    def settle_balances(self) -> None:
        for method in self.customer.payment_methods:
            if method.id in self.balances:
                method.balance = self.balances[method.id]


def _address(rng: random.Random) -> Address:
    city, state, zip_prefix, _ = rng.choice(CITIES)
    return Address(
        address1=f"{rng.randint(10, 9999)} {rng.choice(STREETS)} {rng.choice(STREET_KINDS)}",
        address2=rng.choice(
            ("", "", "", f"Apt {rng.randint(1, 40)}", f"Suite {rng.randint(100, 500)}")
        ),
        city=city,
        state=state,
        zip=f"{zip_prefix}{rng.randint(0, 99):02d}",
        country="USA",
    )


def _phone(rng: random.Random, address: Address) -> str:
    area = next(c[3] for c in CITIES if c[0] == address.city)
    # 555-01xx numbers are set aside for fiction.
    return f"+1 {area} 555 01{rng.randint(0, 99):02d}"


def _new_customer(
    rng: random.Random,
    ids: _Ids,
    now: datetime,
    *,
    first: str | None = None,
    last: str | None = None,
    email: str | None = None,
    days_ago: int | None = None,
    membership: str | None = None,
    fixed: bool = False,
) -> _Shopper:
    """A random customer, or with `fixed` one whose membership is exactly `membership`
    and who holds no gift card (the stories' customers)."""
    first = first or rng.choice(FIRST_NAMES)
    last = last or rng.choice(LAST_NAMES)
    customer_id = ids.customer(first, last)
    if email is None:
        email = ids.email(first, last)
    else:
        ids.used.add(email)
    since = now - timedelta(
        days=days_ago if days_ago is not None else rng.randint(20, 1400),
        minutes=rng.randint(0, 1439),
    )
    addresses = [_address(rng)]
    if rng.random() < 0.15:
        addresses.append(_address(rng))
    methods: list[PaymentMethod] = []
    balances: dict[str, Decimal] = {}
    if rng.random() < 0.9:
        methods.append(_card(rng, ids))
        if rng.random() < 0.15:
            methods.append(_card(rng, ids))
    if not methods or rng.random() < 0.35:
        methods.append(PaymentMethod(ids.payment(PaymentKind.PAYPAL), PaymentKind.PAYPAL))
    if not fixed and rng.random() < 0.2:
        gift = PaymentMethod(ids.payment(PaymentKind.GIFT_CARD), PaymentKind.GIFT_CARD)
        balances[gift.id] = Decimal(rng.choice((25, 50, 75, 100, 150, 200))).quantize(CENT)
        methods.append(gift)
    if not fixed and membership is None and rng.random() < 0.3:
        membership = rng.choice(("member", "member", "plus"))
    customer = Customer(
        id=customer_id,
        first_name=first,
        last_name=last,
        emails=[email],
        phones=[_phone(rng, addresses[0])],
        addresses=addresses,
        membership=membership,
        payment_methods=methods,
        created_at=since,
        updated_at=since,
    )
    shopper = _Shopper(customer, balances=balances)
    shopper.settle_balances()
    return shopper


def _card(rng: random.Random, ids: _Ids) -> PaymentMethod:
    return PaymentMethod(
        ids.payment(PaymentKind.CREDIT_CARD),
        PaymentKind.CREDIT_CARD,
        rng.choice(CARD_BRANDS),
        f"{rng.randint(0, 9999):04d}",
    )


def _pay(
    rng: random.Random, shopper: _Shopper, total: Decimal, at: datetime
) -> list[PaymentTransaction]:
    """Gift card first when the customer has one with money on it, the rest by card or PayPal."""
    payments = []
    remaining = total
    for method_id, balance in shopper.balances.items():
        if balance > 0 and remaining > 0 and rng.random() < 0.7:
            used = min(balance, remaining)
            shopper.balances[method_id] = balance - used
            remaining -= used
            payments.append(PaymentTransaction(TransactionType.PAYMENT, used, method_id, at))
    if remaining > 0:
        direct = [m for m in shopper.customer.payment_methods if not m.has_balance]
        method = rng.choice(direct)
        payments.append(PaymentTransaction(TransactionType.PAYMENT, remaining, method.id, at))
    return payments


def _pick_lines(
    rng: random.Random,
    products: dict[str, Product],
    favourites: list[str],
    placed: datetime,
    now: datetime,
) -> list[tuple[Product, Variant]]:
    catalogue = list(products.values())
    liked = [p for p in catalogue if _category(p) in favourites]
    picked = []
    for _ in range(rng.choices((1, 2, 3, 4), LINE_COUNT_WEIGHTS)[0]):
        while True:
            product = rng.choice(liked if liked and rng.random() < 0.6 else catalogue)
            if _on_sale(product.id, placed, now):
                break
        picked.append((product, rng.choice(product.variants)))
    return picked


def _order(
    rng: random.Random,
    ids: _Ids,
    shopper: _Shopper,
    lines: list[tuple[Product, Variant]],
    placed: datetime,
    now: datetime,
    *,
    promised: date | None = None,
    transit: timedelta | None = None,
    cancel: bool = False,
) -> Order:
    """One order and its life so far: payment, processing, shipments, delivery.

    `promised` and `transit` pin the schedule (the stories need a date missed or a parcel
    still on its way); otherwise it is drawn, with a few deliveries arriving late.
    """
    customer = shopper.customer
    order_lines = [OrderLine(v.id, p.id, p.name, v.price, dict(v.options)) for p, v in lines]
    total = money_sum([line.price for line in order_lines])
    address = customer.addresses[0]
    if len(customer.addresses) > 1 and rng.random() < 0.3:
        address = customer.addresses[1]
    payments = _pay(rng, shopper, total, placed)
    if cancel:
        cancelled_at = placed + timedelta(minutes=rng.randint(10, 110))
        for payment in list(payments):
            payments.append(
                PaymentTransaction(
                    TransactionType.REFUND,
                    payment.amount,
                    payment.payment_method_id,
                    cancelled_at,
                )
            )
            if payment.payment_method_id in shopper.balances:
                shopper.balances[payment.payment_method_id] += payment.amount
        return Order(
            id=ids.order(),
            customer_id=customer.id,
            status=OrderStatus.CANCELLED,
            address=address,
            lines=order_lines,
            payments=payments,
            placed_at=placed,
            details={"cancel_reason": rng.choice(("no longer needed", "ordered by mistake"))},
        )

    order_id = ids.order()
    processed = placed + timedelta(hours=rng.randint(2, 20))
    promised = promised or (placed + timedelta(days=rng.randint(5, 8))).date()
    # Couriers deliver through the day; the promise holds until the evening.
    promised_end = datetime.combine(promised, time(19, 0), tzinfo=placed.tzinfo)
    late = transit is None and rng.random() < 0.08
    groups = [order_lines]
    if transit is None and len(order_lines) > 1 and rng.random() < 0.15:
        cut = rng.randint(1, len(order_lines) - 1)
        groups = [order_lines[:cut], order_lines[cut:]]
    carrier = rng.choice(CARRIERS)
    shipped = processed + timedelta(hours=rng.randint(6, 40))
    fulfilments = []
    for number, group in enumerate(groups):
        ship_at = shipped + timedelta(days=number * rng.randint(1, 3))
        if ship_at > now:
            break
        if transit is not None:
            arrive = ship_at + transit
        else:
            arrive = ship_at + timedelta(days=rng.randint(1, 4), hours=rng.randint(0, 10))
            if late:
                arrive = max(arrive, promised_end + timedelta(days=rng.randint(1, 5)))
            else:
                arrive = max(min(arrive, promised_end), ship_at + timedelta(hours=20))
            arrive -= timedelta(minutes=rng.randint(0, 600))
        fulfilments.append(
            Fulfilment(
                tracking_ids=[ids.tracking(carrier)],
                variant_ids=[line.variant_id for line in group],
                carrier=carrier,
                shipped_at=ship_at,
                promised_date=promised,
                delivered_at=arrive if arrive <= now else None,
            )
        )
    if now < processed:
        status = OrderStatus.PENDING
    elif not fulfilments:
        status = OrderStatus.PROCESSED
    elif len(fulfilments) == len(groups) and all(f.delivered_at for f in fulfilments):
        status = OrderStatus.DELIVERED
    else:
        status = OrderStatus.SHIPPED
    return Order(
        id=order_id,
        customer_id=customer.id,
        status=status,
        address=address,
        lines=order_lines,
        fulfilments=fulfilments,
        payments=payments,
        placed_at=placed,
    )


def _history(
    rng: random.Random,
    ids: _Ids,
    shopper: _Shopper,
    products: dict[str, Product],
    now: datetime,
    count: int,
    *,
    until: datetime | None = None,
) -> None:
    """`count` orders spread between the customer's sign-up and `until` (default `now`)."""
    since = shopper.customer.created_at
    assert since is not None
    end = until or now
    span = max(int((end - since).total_seconds()), 3600)
    favourites = rng.sample(sorted(COST_RATES), 2)
    # Skewed towards recent months, as a growing shop's orders are.
    offsets = sorted(600 + int((span - 600) * rng.random() ** 0.7) for _ in range(count))
    for offset in offsets:
        placed = since + timedelta(seconds=offset)
        lines = _pick_lines(rng, products, favourites, placed, now)
        cancel = placed < now - timedelta(days=1) and rng.random() < 0.05
        shopper.orders.append(_order(rng, ids, shopper, lines, placed, now, cancel=cancel))


def _tier(orders: Iterable[Order]) -> str:
    spend = money_sum([o.total for o in orders if o.status is not OrderStatus.CANCELLED])
    return next((tier for tier, floor in TIER_THRESHOLDS if spend >= floor), "standard")


def _shopper(
    rng: random.Random, ids: _Ids, products: dict[str, Product], now: datetime
) -> _Shopper:
    shopper = _new_customer(rng, ids, now)
    count = rng.choices(range(len(ORDER_COUNT_WEIGHTS)), ORDER_COUNT_WEIGHTS)[0]
    _history(rng, ids, shopper, products, now, count)
    shopper.customer.tier = _tier(shopper.orders)
    shopper.settle_balances()
    return shopper


# -- the five stories --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Step:
    """Something that happens on a story case after it opens, `hours_ago` before `now`."""

    hours_ago: float
    kind: MessageKind
    body: str
    agent: str | None = None
    # Case fields changed right after the message (escalation, triage).
    changes: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class _StoryCase:
    key: str
    shopper: _Shopper
    order: Order
    hours_ago: float
    subject: str
    body: str
    team: str
    assignee: str
    priority: Priority = Priority.NORMAL
    channel: Channel = Channel.EMAIL
    tags: tuple[str, ...] = ()
    custom_fields: dict[str, CustomValue] = field(default_factory=dict)
    steps: tuple[_Step, ...] = ()


def _variant(products: dict[str, Product], product_id: str, **options: str) -> Variant:
    product = products[product_id]
    return next(
        v for v in product.variants if all(v.options.get(k) == o for k, o in options.items())
    )


def _line(products: dict[str, Product], product_id: str, **options: str) -> tuple[Product, Variant]:
    return products[product_id], _variant(products, product_id, **options)


def _day(value: date) -> str:
    return f"{value:%A, %B} {value.day}"


def _label_printer(
    rng: random.Random, ids: _Ids, products: dict[str, Product], now: datetime
) -> _StoryCase:
    shopper = _new_customer(
        rng,
        ids,
        now,
        first="Graham",
        last="Whitlock",
        email="graham.whitlock@example.com",
        days_ago=1500,
        fixed=True,
    )
    _history(rng, ids, shopper, products, now, 7, until=now - timedelta(days=20))
    printer = _order(
        rng,
        ids,
        shopper,
        [_line(products, LABELWRITER_350)],
        now - timedelta(days=1130, hours=5),
        now,
    )
    shopper.orders.append(printer)
    for days in (1000, 640, 300, 95):
        labels = [_line(products, "inkwell-address-labels", size="28x89mm")] * 2
        shopper.orders.append(
            _order(rng, ids, shopper, labels, now - timedelta(days=days, hours=3), now)
        )
    shopper.customer.tier = "gold"
    return _StoryCase(
        key="label-printer",
        shopper=shopper,
        order=printer,
        hours_ago=3,
        subject="LabelWriter 350 stopped working after the system update",
        body=(
            "Hello,\n\n"
            "A few days ago I upgraded my computer to the latest version of its operating "
            "system, and since then my LabelWriter 350 won't print. I use it every day for "
            "envelopes and shipping labels.\n\n"
            "I've fiddled with the settings and reinstalled the driver from your support site "
            "twice. No dice. Searching online, it looks like I'm not the only one.\n\n"
            "The printer is a few years old and I've had my money's worth, so I was about to "
            "go and buy a new one. But I thought I'd ask first whether you know something I "
            "don't.\n\nThanks,\nGraham"
        ),
        team="Front line",
        assignee=ALEX,
        tags=(f"known-issue:{LABELWRITER_ISSUE}",),
        custom_fields={
            "issue_type": "known_issue",
            "known_issue": LABELWRITER_ISSUE,
        },
    )


def _missed_date(
    rng: random.Random, ids: _Ids, products: dict[str, Product], now: datetime
) -> _StoryCase:
    shopper = _new_customer(
        rng,
        ids,
        now,
        first="Dana",
        last="Whitfield",
        email="dana.whitfield@example.org",
        days_ago=620,
        fixed=True,
    )
    _history(rng, ids, shopper, products, now, 4, until=now - timedelta(days=30))
    agreed = (now - timedelta(days=4)).date()
    desk = _line(products, "standing-desk", width="120cm", delivery="white-glove assembly")
    order = _order(
        rng,
        ids,
        shopper,
        [desk],
        now - timedelta(days=16, hours=2),
        now,
        promised=agreed,
        transit=timedelta(days=30),
    )
    shopper.orders.append(order)
    shopper.customer.tier = "silver"
    return _StoryCase(
        key="missed-date",
        shopper=shopper,
        order=order,
        hours_ago=30,
        subject="Our agreed delivery date came and went",
        body=(
            f"We booked the standing desk (order {order.id}) with white-glove delivery and "
            f"assembly for {_day(agreed)}. We agreed that date weeks ago. Nobody came and "
            "nobody called.\n\n"
            "I have spent hours since then emailing, calling and pressing every option on "
            "your phone line, trying to find one person who can tell me what is going on. "
            "The only answer I got was that my account manager would get back to me. He "
            "hasn't.\n\n"
            "I rearranged my week around this delivery. I'd like to know when the desk will "
            "actually arrive and what you are going to do about the date you missed. Please "
            "don't offer me a fee to speed things up.\n\nDana Whitfield"
        ),
        team="Front line",
        assignee=PRIYA,
        priority=Priority.HIGH,
        custom_fields={"issue_type": "late_delivery"},
        steps=(
            _Step(
                5,
                MessageKind.INBOUND,
                "Another day, and still not a word from anyone. I have now called four "
                "times and I am really angry. Is there anybody there who can actually "
                "decide something?",
            ),
        ),
    )


def _wrong_items(
    rng: random.Random, ids: _Ids, products: dict[str, Product], now: datetime
) -> _StoryCase:
    shopper = _new_customer(
        rng,
        ids,
        now,
        first="Maya",
        last="Hart",
        email="maya.hart@example.net",
        days_ago=8,
        fixed=True,
    )
    dresses = [
        _line(products, "girls-party-dress", size="6", color="rose"),
        _line(products, "girls-party-dress", size="8", color="rose"),
    ]
    order = _order(
        rng,
        ids,
        shopper,
        dresses,
        now - timedelta(days=7),
        now,
        transit=timedelta(days=3),
    )
    shopper.orders.append(order)
    # Those sizes sold out right after her order, so the right dresses cannot go out again.
    for _, variant in dresses:
        variant.available = False
    shopper.customer.tier = "standard"
    return _StoryCase(
        key="wrong-items",
        shopper=shopper,
        order=order,
        hours_ago=20,
        subject="Two t-shirts arrived instead of the two dresses I ordered",
        body=(
            "Hello,\n\n"
            f"This was my first order from your shop (order {order.id}). I ordered two party "
            "dresses for my daughters, sizes 6 and 8, and what arrived is two kids' t-shirts. "
            "Nice t-shirts, but clearly not what I ordered, and the party is next weekend.\n\n"
            "Honestly, I'm disappointed. I don't think I'll be ordering from you again.\n\n"
            "Maya Hart"
        ),
        team="Front line",
        assignee=ALEX,
        channel=Channel.PORTAL,
        custom_fields={"issue_type": "wrong_item"},
    )


def _new_baby(
    rng: random.Random, ids: _Ids, products: dict[str, Product], now: datetime
) -> _StoryCase:
    shopper = _new_customer(
        rng,
        ids,
        now,
        first="Lucia",
        last="Romero",
        email="lucia.romero@example.com",
        days_ago=1250,
        membership="plus",
        fixed=True,
    )
    _history(rng, ids, shopper, products, now, 13, until=now - timedelta(days=120))
    stroller = _line(products, "baby-stroller", color="sand")
    shopper.orders.append(
        _order(rng, ids, shopper, [stroller], now - timedelta(days=100, hours=4), now)
    )
    lines = [
        _line(products, "baby-monitor", range="standard"),
        _line(products, "swaddle-blankets", pattern="stars"),
    ]
    order = _order(
        rng, ids, shopper, lines, now - timedelta(days=3), now, transit=timedelta(days=5)
    )
    shopper.orders.append(order)
    shopper.customer.tier = "vip"
    return _StoryCase(
        key="new-baby",
        shopper=shopper,
        order=order,
        hours_ago=6,
        subject="Will the baby monitor arrive this week?",
        body=(
            "Hi there!\n\n"
            "Our daughter was born last week, so things are a little sleepless and a lot "
            "wonderful around here. We ordered a baby monitor and swaddle blankets a few days "
            f"ago (order {order.id}) and I just wanted to check they'll arrive this week. My "
            "parents are coming to stay and I'd love to have the nursery sorted before "
            "then.\n\nThank you so much,\nLucia"
        ),
        team="Front line",
        assignee=PRIYA,
        priority=Priority.LOW,
        tags=("moment:new_baby",),
        custom_fields={"issue_type": "general", "moments": "new_baby"},
    )


SCRIPT = (
    "Thank you for contacting us. We're sorry to hear about the trouble with your espresso "
    "machine. Please descale the machine following the steps in section 7 of the user manual, "
    "then run two tanks of clean water through it. If the problem persists, let us know."
)


def _escalated_script(
    rng: random.Random, ids: _Ids, products: dict[str, Product], now: datetime
) -> _StoryCase:
    shopper = _new_customer(
        rng,
        ids,
        now,
        first="Ray",
        last="Okafor",
        email="ray.okafor@example.org",
        days_ago=780,
        fixed=True,
    )
    _history(rng, ids, shopper, products, now, 14, until=now - timedelta(days=60))
    machine = _line(products, "espresso-machine", finish="steel")
    order = _order(
        rng, ids, shopper, [machine], now - timedelta(days=45), now, transit=timedelta(days=3)
    )
    shopper.orders.append(order)
    shopper.customer.tier = "gold"
    return _StoryCase(
        key="escalated-script",
        shopper=shopper,
        order=order,
        hours_ago=70,
        subject="Espresso machine stopped heating",
        body=(
            f"My espresso machine (order {order.id}) has stopped heating properly. It powers "
            "on and the pump runs, but the coffee comes out lukewarm. It's barely six weeks "
            "old. What can you do?\n\nRay Okafor"
        ),
        team="Front line",
        assignee=ALEX,
        custom_fields={"issue_type": "defective"},
        steps=(
            _Step(66, MessageKind.OUTBOUND, SCRIPT, agent=ALEX),
            _Step(
                50,
                MessageKind.INBOUND,
                "I descaled it before I wrote to you; it's the first thing anyone would try. "
                "Twice. It still doesn't heat. Can I please talk to someone who can actually "
                "do something?",
            ),
            _Step(
                48,
                MessageKind.NOTE,
                "Customer already descaled twice, still lukewarm. Escalating to Tier 2.",
                agent=ALEX,
                changes={"team": "Tier 2", "assignee": SAM, "priority": "high"},
            ),
            _Step(30, MessageKind.OUTBOUND, SCRIPT, agent=SAM),
            _Step(
                6,
                MessageKind.INBOUND,
                "You have just sent me, word for word, the same descaling instructions I got "
                "two days ago, which I told you I had already followed. This is the third "
                "time I'm explaining this, and every person I'm handed to reads me the same "
                "script. I've now spent more time on this than I spent choosing the machine.\n\n"
                "If nobody there can get past the script, I will write up this whole exchange "
                "in a review and post it everywhere I can.",
                changes={
                    "priority": "urgent",
                    "tags": ["public-risk"],
                    # Still a faulty machine: the anger is the sentiment and the public
                    # risk, not a new issue that would rule out the replacement.
                    "custom_fields": {
                        "public_risk": True,
                        "sentiment": -0.9,
                    },
                },
            ),
        ),
    )


STORIES: tuple[Callable[[random.Random, _Ids, dict[str, Product], datetime], _StoryCase], ...] = (
    _label_printer,
    _missed_date,
    _wrong_items,
    _new_baby,
    _escalated_script,
)


def _open_story_case(
    uow_factory: UnitOfWorkFactory, staff: _Staff, story: _StoryCase, now: datetime
) -> None:
    opened = now - timedelta(hours=story.hours_ago)
    tags = [STORY_TAG, f"story:{story.key}", *story.tags]
    view = cases.create_case(
        uow_factory(),
        SYSTEM,
        opened,
        customer_id=story.shopper.customer.id,
        subject=story.subject,
        body=story.body,
        channel=story.channel,
        priority=story.priority,
        team_id=staff.team_ids[story.team],
        tags=tags,
        order_ids=[story.order.id],
        custom_fields=dict(story.custom_fields),
    )
    case_id = view.case.id
    assert case_id is not None
    cases.assign_case(
        uow_factory(),
        SYSTEM,
        opened + timedelta(minutes=12),
        case_id,
        assignee_id=staff.agent_ids[story.assignee],
    )
    for step in story.steps:
        at = now - timedelta(hours=step.hours_ago)
        actor = staff.actor(step.agent) if step.agent else SYSTEM
        cases.add_message(uow_factory(), actor, at, case_id, kind=step.kind, body=step.body)
        if step.changes:
            current = cases.get_case(uow_factory(), actor, case_id).case
            changes: dict[str, Any] = {}
            for name, value in step.changes.items():
                if name == "team":
                    changes["team_id"] = staff.team_ids[value]
                elif name == "assignee":
                    changes["assignee_id"] = staff.agent_ids[value]
                elif name == "tags":
                    tags = [*tags, *value]
                    changes["tags"] = tags
                elif name == "custom_fields":
                    # Added to what the case holds: triage's findings stay unless named.
                    changes["custom_fields"] = {**current.custom_fields, **value}
                else:
                    changes[name] = value
            cases.update_case(
                uow_factory(),
                actor,
                at + timedelta(minutes=3),
                case_id,
                expected_version=current.version,
                changes=changes,
            )


# -- everyday cases around the stories ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Ask:
    """An everyday reason to write in: which orders it fits, who handles it, what is said."""

    issue: str
    weight: int
    team: str
    fits: Callable[[Order, datetime], bool] | None
    subjects: tuple[str, ...]
    bodies: tuple[str, ...]
    reply: str
    thanks: str
    may_solve: bool = True
    waits: CaseStatus = CaseStatus.PENDING


def _in_transit(order: Order, now: datetime) -> bool:
    return order.status in (OrderStatus.PROCESSED, OrderStatus.SHIPPED)


def _late(order: Order, now: datetime) -> bool:
    promised = order.promised_date
    return order.status is OrderStatus.SHIPPED and promised is not None and promised < now.date()


def _recently_delivered(order: Order, now: datetime) -> bool:
    delivered = [f.delivered_at for f in order.fulfilments if f.delivered_at]
    return (
        order.status is OrderStatus.DELIVERED
        and bool(delivered)
        and (now - max(delivered)) < timedelta(days=60)
    )


def _paid(order: Order, now: datetime) -> bool:
    return (
        order.status is not OrderStatus.CANCELLED
        and order.placed_at is not None
        and (now - order.placed_at) < timedelta(days=90)
    )


def _cancellable(order: Order, now: datetime) -> bool:
    return order.status in (OrderStatus.PENDING, OrderStatus.PROCESSED)


ASKS = (
    _Ask(
        "where_is_my_order",
        6,
        "Front line",
        _in_transit,
        ("Where is my order?", "Any update on order {order}?", "Tracking hasn't moved"),
        (
            "Hi, I ordered the {product} a few days ago and the tracking hasn't changed since "
            "it shipped. Can you check where it is?",
            "My order {order} still hasn't arrived. Could you tell me when to expect it?",
            "Is my {product} on its way? I need it before the weekend.",
        ),
        "Thanks for checking in, {first}. Your {product} is with {carrier} and due by "
        "{promised}. I'll keep an eye on it and let you know if anything changes.",
        "Great, thanks for looking into it!",
        waits=CaseStatus.ON_HOLD,
    ),
    _Ask(
        "late_delivery",
        3,
        "Front line",
        _late,
        ("My order is late", "Order {order} was due days ago"),
        (
            "The {product} was promised for {promised} and it still isn't here. What's going on?",
            "Order {order} should have arrived by {promised}. Nothing yet. Not impressed.",
        ),
        "I'm sorry, {first}. {carrier} is running behind in your area; I've opened a trace "
        "on order {order} and I'll update you as soon as they answer.",
        "It turned up this morning. Thanks for chasing it.",
        waits=CaseStatus.ON_HOLD,
    ),
    _Ask(
        "return_request",
        5,
        "Front line",
        _recently_delivered,
        ("I'd like to return the {product}", "Return for order {order}"),
        (
            "The {product} isn't quite what I expected. How do I send it back?",
            "I need to return the {product} from order {order}; it doesn't fit.",
        ),
        "No problem, {first}. I've emailed you a prepaid return label for the {product}. "
        "Once the carrier scans it, the refund reaches you within 3 to 5 business days.",
        "Label received, thank you.",
    ),
    _Ask(
        "damaged",
        3,
        "Tier 2",
        _recently_delivered,
        ("The {product} arrived damaged", "Broken item in order {order}"),
        (
            "The box was crushed and the {product} inside is cracked.",
            "My {product} arrived with a dent in the side. Order {order}.",
        ),
        "I'm sorry it arrived like that, {first}. Could you reply with a photo of the item "
        "and the box? Then I'll get a replacement on its way.",
        "Photos sent. Thanks for the quick help.",
    ),
    _Ask(
        "defective",
        2,
        "Tier 2",
        _recently_delivered,
        ("{product} stopped working", "Problem with my {product}"),
        (
            "My {product} worked for a couple of weeks and now won't turn on at all.",
            "The {product} from order {order} keeps switching itself off.",
        ),
        "Sorry to hear that, {first}. Could you hold the power button for ten seconds to "
        "reset it and tell me whether the light comes on?",
        "The reset worked. All good now, thanks.",
    ),
    _Ask(
        "billing",
        3,
        "Billing",
        _paid,
        ("Charged twice for order {order}", "Question about a charge"),
        (
            "I see two charges on my statement for order {order}. Can you check?",
            "There's a charge of ${total} on my card and I'm not sure what it's for.",
        ),
        "I've checked, {first}: order {order} was charged once, ${total}. The second line on "
        "your statement is a card authorisation that your bank releases within a few days.",
        "Makes sense, thanks for explaining.",
    ),
    _Ask(
        "cancel_request",
        2,
        "Front line",
        _cancellable,
        ("Please cancel order {order}", "Cancel my order"),
        (
            "I ordered the {product} by mistake. Can you cancel it before it ships?",
            "Please cancel order {order}; I found it locally.",
        ),
        "I've asked the warehouse to stop order {order}, {first}. I'll confirm here as soon "
        "as they do.",
        "Thank you.",
        may_solve=False,
        waits=CaseStatus.ON_HOLD,
    ),
    _Ask(
        "general",
        3,
        "Front line",
        None,
        ("Question about sizes", "Do you ship to Canada?", "Gift wrapping?"),
        (
            "Do your clothes run large or small? I'm usually between sizes.",
            "Do you ship to Canada, and how long does it take?",
            "Can I add gift wrapping and a note to an order?",
        ),
        "Good question, {first}. I've put the details in our help centre article and "
        "linked it here; let me know if anything is unclear.",
        "Perfect, thank you!",
    ),
)


def _fill(text: str, shopper: _Shopper, order: Order | None) -> str:
    promised = order.promised_date if order else None
    fulfilled = order.fulfilments if order else []
    values = {
        "first": shopper.customer.first_name,
        "order": order.id if order else "",
        "product": order.lines[0].name if order else "",
        "total": f"{order.total:,}" if order else "",
        "carrier": fulfilled[0].carrier if fulfilled and fulfilled[0].carrier else "the carrier",
        "promised": _day(promised) if promised else "the end of the week",
    }
    return text.format(**values)


def _background_cases(
    uow_factory: UnitOfWorkFactory,
    rng: random.Random,
    staff: _Staff,
    shoppers: list[_Shopper],
    now: datetime,
) -> int:
    """A few dozen everyday cases in every status, so the queues look lived in."""
    wanted = min(45, max(8, len(shoppers) // 6), len(shoppers))
    general = next(a for a in ASKS if a.fits is None)
    queue = rng.sample(shoppers, len(shoppers))
    for _ in range(wanted):
        ask = rng.choices(ASKS, [a.weight for a in ASKS])[0]
        fits = ask.fits
        shopper, order = next(
            ((s, o) for s in queue for o in s.orders if fits and fits(o, now)),
            (queue[0], None),
        )
        if order is None:
            ask = general
        queue.remove(shopper)
        _everyday_case(uow_factory, rng, staff, shopper, ask, order, now)
    return wanted


def _everyday_case(
    uow_factory: UnitOfWorkFactory,
    rng: random.Random,
    staff: _Staff,
    shopper: _Shopper,
    ask: _Ask,
    order: Order | None,
    now: datetime,
) -> None:
    earliest = shopper.customer.created_at or now
    if order is not None and order.placed_at is not None:
        events = [order.placed_at, *(f.delivered_at or f.shipped_at for f in order.fulfilments)]
        earliest = max(e for e in events if e is not None)
    fate = rng.choices(("new", "open", "waiting", "solved", "closed"), (15, 25, 15, 30, 15))[0]
    if not ask.may_solve and fate in ("solved", "closed"):
        fate = "waiting"
    # A case still open when the demo starts is older than every story; a solved one had
    # the time its conversation takes.
    still_open = fate not in ("solved", "closed")
    latest = now - (STORIES_WITHIN if still_open else timedelta(hours=40))
    earliest = min(max(earliest, now - timedelta(days=21)), latest)
    span = int((latest - earliest).total_seconds())
    opened = earliest + timedelta(seconds=rng.randint(span // 4, span) if span > 0 else 0)
    agent_email = rng.choice(staff.members(ask.team))
    view = cases.create_case(
        uow_factory(),
        SYSTEM,
        opened,
        customer_id=shopper.customer.id,
        subject=_fill(rng.choice(ask.subjects), shopper, order),
        body=_fill(rng.choice(ask.bodies), shopper, order),
        channel=rng.choice((Channel.EMAIL, Channel.EMAIL, Channel.PORTAL, Channel.CHAT)),
        team_id=staff.team_ids[ask.team],
        assignee_id=None if fate == "new" else staff.agent_ids[agent_email],
        tags=[f"issue:{ask.issue}"],
        order_ids=[order.id] if order else [],
        custom_fields={"issue_type": ask.issue},
    )
    case_id = view.case.id
    assert case_id is not None
    if fate == "new":
        return
    agent = staff.actor(agent_email)
    at = opened + timedelta(minutes=rng.randint(20, 300))
    if at > now:
        return
    cases.add_message(
        uow_factory(),
        agent,
        at,
        case_id,
        kind=MessageKind.OUTBOUND,
        body=_fill(ask.reply, shopper, order),
    )
    if fate == "open":
        return
    at += timedelta(minutes=rng.randint(2, 10))
    if fate == "waiting" or at > now:
        cases.change_status(uow_factory(), agent, min(at, now), case_id, ask.waits)
        return
    at += timedelta(hours=rng.randint(3, 30))
    if at > now:
        cases.change_status(uow_factory(), agent, now, case_id, ask.waits)
        return
    cases.add_message(uow_factory(), agent, at, case_id, kind=MessageKind.INBOUND, body=ask.thanks)
    at += timedelta(minutes=rng.randint(5, 90))
    cases.change_status(uow_factory(), agent, min(at, now), case_id, CaseStatus.SOLVED)
    closed_at = at + timedelta(days=4)
    if fate == "closed" and closed_at <= now:
        cases.change_status(uow_factory(), SYSTEM, closed_at, case_id, CaseStatus.CLOSED)


# -- ninety days of history --------------------------------------------------------------

# Most cases are routine; a few are urgent.
PRIORITY_WEIGHTS = (
    (Priority.LOW, 15),
    (Priority.NORMAL, 60),
    (Priority.HIGH, 20),
    (Priority.URGENT, 5),
)
# Issues on which an agent looks for a remedy before solving.
REMEDY_ISSUES = frozenset({"late_delivery", "damaged", "defective", "return_request", "billing"})
SURVEY_COMMENTS = {
    1: ("Nobody answered for days.", "I had to explain everything twice."),
    2: ("Slow, and the first answer did not help.", ""),
    3: ("Fine in the end.", ""),
    4: ("Quick and friendly.", ""),
    5: ("Sorted in one reply, thank you!", "Above and beyond. I'll order again.", ""),
}


def _fits_then(ask: _Ask, order: Order, at: datetime) -> bool:
    """Whether the order was, at `at`, what the ask is about."""
    if order.placed_at is None or order.placed_at >= at or order.status is OrderStatus.CANCELLED:
        return False
    shipped = [f for f in order.fulfilments if f.shipped_at is not None and f.shipped_at < at]
    delivered = [f.delivered_at for f in shipped if f.delivered_at and f.delivered_at < at]
    if ask.issue == "where_is_my_order":
        return bool(shipped) and len(delivered) < len(shipped)
    if ask.issue == "late_delivery":
        promised = order.promised_date
        return (
            bool(shipped) and len(delivered) < len(shipped)
            and promised is not None and promised < at.date()
        )  # fmt: skip
    if ask.issue in ("return_request", "damaged", "defective"):
        return bool(delivered) and at - max(delivered) < timedelta(days=30)
    if ask.issue == "billing":
        return at - order.placed_at < timedelta(days=45)
    return False


def _working(clockwork: Clockwork, start: datetime, minutes: float) -> datetime:
    return from_us(clockwork.add_working_us(to_us(start), int(minutes * US_PER_MINUTE)))


def _office_moment(
    rng: random.Random, calendar: Clockwork, start: datetime, end: datetime
) -> datetime:
    """Mostly while the desk is open, as most customers write from work; now and then not."""
    if rng.random() < 0.2:
        return start + timedelta(seconds=rng.randint(0, int((end - start).total_seconds())))
    open_us = calendar.working_us(to_us(start), to_us(end))
    return from_us(calendar.add_working_us(to_us(start), rng.randrange(max(open_us, 1))))


def _reply_after(
    rng: random.Random, clockwork: Clockwork, start: datetime, target: int, on_time: float
) -> datetime:
    """An agent's answer: within the target with chance `on_time`, else past it."""
    share = rng.uniform(0.05, 0.85) if rng.random() < on_time else rng.uniform(1.1, 1.8)
    return _working(clockwork, start, target * share)


def _past_cases(
    uow_factory: UnitOfWorkFactory,
    rng: random.Random,
    staff: _Staff,
    shoppers: list[_Shopper],
    now: datetime,
    calendar: Clockwork,
) -> int:
    """Everyday cases of the last 90 days, every one solved by now: replies in business
    hours (a few late, so some clocks breached), a grant where the policy offers one within
    the agent's authority, some escalations, and the customers' survey answers."""
    if not shoppers:
        return 0
    wanted = min(HISTORY_CASES, max(12, len(shoppers) // 4))
    # The slowest conversation (a low-priority case answered late twice, over a weekend)
    # takes about ten days: the history stops in time for every one to be solved by now.
    start, end = now - timedelta(days=HISTORY_DAYS), now - timedelta(days=14)
    asks = [a for a in ASKS if a.may_solve]
    general = next(a for a in ASKS if a.fits is None)
    outbox = portal.MemoryOutbox(limit=1)
    openings = sorted(_office_moment(rng, calendar, start, end) for _ in range(wanted))
    for opened in openings:
        ask = rng.choices(asks, [a.weight for a in asks])[0]
        queue = rng.sample(shoppers, len(shoppers))
        shopper, order = next(
            ((s, o) for s in queue for o in s.orders if _fits_then(ask, o, opened)),
            (None, None),
        )
        if shopper is None:
            ask = general
            shopper = next((s for s in queue if (s.customer.created_at or now) < opened), queue[0])
        _past_case(uow_factory, rng, staff, shopper, ask, order, opened, now, calendar, outbox)
    return wanted


def _past_case(
    uow_factory: UnitOfWorkFactory,
    rng: random.Random,
    staff: _Staff,
    shopper: _Shopper,
    ask: _Ask,
    order: Order | None,
    opened: datetime,
    now: datetime,
    calendar: Clockwork,
    outbox: portal.MemoryOutbox,
) -> None:
    priority = rng.choices([p for p, _ in PRIORITY_WEIGHTS], [w for _, w in PRIORITY_WEIGHTS])[0]
    _, _, business, first_target, next_target, _ = next(t for t in SLA_TARGETS if t[1] is priority)
    clockwork = calendar if business else ALWAYS_OPEN
    agent_email = rng.choice(staff.members(ask.team))
    agent = staff.actor(agent_email)
    view = cases.create_case(
        uow_factory(),
        SYSTEM,
        opened,
        customer_id=shopper.customer.id,
        subject=_fill(rng.choice(ask.subjects), shopper, order),
        body=_fill(rng.choice(ask.bodies), shopper, order),
        channel=rng.choice((Channel.EMAIL, Channel.EMAIL, Channel.PORTAL, Channel.CHAT)),
        priority=priority,
        team_id=staff.team_ids[ask.team],
        assignee_id=staff.agent_ids[agent_email],
        tags=[f"issue:{ask.issue}"],
        order_ids=[order.id] if order else [],
        custom_fields={"issue_type": ask.issue},
    )
    case_id = view.case.id
    assert case_id is not None
    at = _reply_after(rng, clockwork, opened, first_target, 0.85)
    late = at > _working(clockwork, opened, first_target)
    reply = _fill(ask.reply, shopper, order)
    cases.add_message(uow_factory(), agent, at, case_id, kind=MessageKind.OUTBOUND, body=reply)
    escalated = ask.team == "Front line" and rng.random() < 0.12
    if escalated:
        at += timedelta(minutes=rng.randint(5, 40))
        lifecycle.escalate(
            uow_factory(),
            agent,
            at,
            case_id,
            team_id=staff.team_ids["Tier 2"],
            open_question="Is there more we can do than the usual answer?",
        )
        agent_email = rng.choice(staff.members("Tier 2"))
        agent = staff.actor(agent_email)
        at = _working(clockwork, at, rng.randint(10, 90))
        cases.assign_case(
            uow_factory(), agent, at, case_id, assignee_id=staff.agent_ids[agent_email]
        )
    if rng.random() < 0.45:
        # The customer writes again; the next reply runs its own clock.
        at += timedelta(hours=rng.uniform(1, 30))
        cases.add_message(
            uow_factory(),
            SYSTEM,
            at,
            case_id,
            kind=MessageKind.INBOUND,
            body=rng.choice(FOLLOW_UPS),
        )
        at = _reply_after(rng, clockwork, at, next_target, 0.85)
        cases.add_message(
            uow_factory(), agent, at, case_id, kind=MessageKind.OUTBOUND, body=rng.choice(ANSWERS)
        )
    if ask.issue in REMEDY_ISSUES and rng.random() < 0.5:
        at += timedelta(minutes=rng.randint(3, 30))
        _grant_best(uow_factory, agent, at, case_id)
    at += timedelta(hours=rng.uniform(0.5, 20))
    cases.add_message(uow_factory(), SYSTEM, at, case_id, kind=MessageKind.INBOUND, body=ask.thanks)
    at = _working(clockwork, at, rng.randint(5, 90))
    cases.change_status(uow_factory(), agent, at, case_id, CaseStatus.SOLVED)
    if rng.random() < 0.75:
        at += timedelta(hours=rng.uniform(0.5, 3))
        _survey(uow_factory, rng, outbox, at, case_id, unhappy=late or escalated)
    closed = at + timedelta(days=4)
    if rng.random() < 0.7 and closed < now:
        cases.change_status(uow_factory(), SYSTEM, closed, case_id, CaseStatus.CLOSED)


FOLLOW_UPS = (
    "Thanks. One more question: how long will that take?",
    "Any news? I haven't heard anything since.",
    "Sorry, I forgot to say: the order number is in my first message.",
    "I tried that and it didn't help. What now?",
)
ANSWERS = (
    "It should be with you within three business days; I'll keep watching it.",
    "I've checked again and everything is on track. I'll write as soon as it moves.",
    "Thanks for trying that. I've sorted it on our side now; you don't need to do anything.",
)


def _grant_best(uow_factory: UnitOfWorkFactory, agent: Actor, at: datetime, case_id: int) -> None:
    """The planner's best offer that the agent may grant alone, executed like a click."""
    plan = grants.plan_case(uow_factory(), agent, at, case_id).plan
    offer = next((o for o in plan.offers if not o.decision.needs_approval), None)
    if offer is None:
        return
    grants.grant_on_case(
        uow_factory(),
        agent,
        at,
        case_id,
        offer.remedy_ids,
        idempotency_key=f"demo-history-{case_id}",
    )


def _survey(
    uow_factory: UnitOfWorkFactory,
    rng: random.Random,
    outbox: portal.MemoryOutbox,
    at: datetime,
    case_id: int,
    *,
    unhappy: bool,
) -> None:
    """The survey of a solved case, answered (or not) by its customer within two days."""
    links: list[str] = []

    def link_for(secret: str, score: int | None) -> str:
        links.append(secret)
        return f"/csat/{secret}"

    survey = portal.send_survey(
        uow_factory(), outbox, at, case_id, link_for=link_for, valid_for=timedelta(days=14)
    )
    if survey is None or rng.random() < 0.35:
        return
    weights = (3, 3, 2, 1, 1) if unhappy else (1, 1, 2, 5, 8)
    score = rng.choices((1, 2, 3, 4, 5), weights)[0]
    comment = rng.choice(SURVEY_COMMENTS[score])
    portal.answer_survey(
        uow_factory(),
        at + timedelta(hours=rng.uniform(0.2, 40)),
        links[0],
        score=score,
        comment=comment or None,
    )
