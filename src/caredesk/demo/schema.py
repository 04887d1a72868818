"""The shape of each data file under `data/`: pydantic models that check what a file says
within itself (a surcharge names an option's value, one policy per priority, one order for
the story's case). `tables` reads the files and checks what spans them."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from string import Formatter
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from caredesk.domain.agents import Role
from caredesk.domain.cases import CaseStatus, Channel, CustomValue, MessageKind, Priority
from caredesk.domain.policy.model import Program


class DataFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- catalogue.yaml ------------------------------------------------------------------------


def slug(text: str) -> str:
    """An id made of a name: `Girls' Party Dress` is `girls-party-dress`."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower().replace("'", "")).strip("-")


class ProductRow(DataFile):
    name: str = Field(min_length=1)
    category: str
    price: Decimal = Field(gt=0)
    # Each option's values, in the order the variants are made.
    options: dict[str, list[str]] = Field(min_length=1)
    # What a value adds to the price, per option.
    surcharges: dict[str, dict[str, Decimal]] = Field(default_factory=dict)
    about: str
    first_sold_days_ago: int | None = Field(default=None, ge=0)
    last_sold_days_ago: int | None = Field(default=None, ge=0)
    # None: drawn, like any product's stock.
    available: bool | None = None

    @property
    def id(self) -> str:
        return slug(self.name)

    @model_validator(mode="after")
    def _surcharges_name_values(self) -> ProductRow:
        for axis, values in self.options.items():
            if not values:
                raise ValueError(f"option {axis!r} needs at least one value")
        for axis, extras in self.surcharges.items():
            unknown = set(extras) - set(self.options.get(axis, []))
            if unknown:
                raise ValueError(f"surcharges name values that {axis!r} does not offer: {unknown}")
        return self


class Catalogue(DataFile):
    # What the goods cost the store, as a share of the price.
    cost_rates: dict[str, Decimal] = Field(min_length=2)
    products: list[ProductRow] = Field(min_length=1)

    @model_validator(mode="after")
    def _categories_have_cost_rates(self) -> Catalogue:
        for category, rate in self.cost_rates.items():
            if not Decimal(0) < rate < Decimal(1):
                raise ValueError(f"the cost rate of {category!r} must be between 0 and 1")
        for product in self.products:
            if product.category not in self.cost_rates:
                raise ValueError(
                    f"{product.name!r} is in {product.category!r}, which has no cost rate"
                )
        return self


# -- customers.yaml ------------------------------------------------------------------------


class City(DataFile):
    name: str
    state: str
    zip_prefix: str = Field(pattern=r"^[0-9]{3}$")
    area_code: str = Field(pattern=r"^[0-9]{3}$")


class TierRow(DataFile):
    name: str
    spend: Decimal = Field(gt=0)


class CustomerTables(DataFile):
    first_names: list[str] = Field(min_length=1)
    last_names: list[str] = Field(min_length=1)
    streets: list[str] = Field(min_length=1)
    street_kinds: list[str] = Field(min_length=1)
    cities: list[City] = Field(min_length=1)
    email_domains: list[str] = Field(min_length=1)
    card_brands: list[str] = Field(min_length=1)
    gift_card_amounts: list[int] = Field(min_length=1)
    memberships: list[str] = Field(min_length=1)
    orders_per_customer_weights: list[int] = Field(min_length=1)
    lines_per_order_weights: list[int] = Field(min_length=1)
    carriers: list[str] = Field(min_length=1)
    cancel_reasons: list[str] = Field(min_length=1)
    tiers: list[TierRow] = Field(min_length=1)

    @model_validator(mode="after")
    def _tiers_highest_first(self) -> CustomerTables:
        spends = [tier.spend for tier in self.tiers]
        if spends != sorted(spends, reverse=True):
            raise ValueError("tiers go from the highest spend to the lowest")
        return self


# -- staff.yaml ----------------------------------------------------------------------------


class Person(DataFile):
    email: str
    name: str
    role: Role
    teams: list[str] = Field(default_factory=list)


class Escalation(DataFile):
    """Where the history's escalated cases go: from one team to the next tier."""

    from_team: str
    to_team: str


class Staff(DataFile):
    teams: list[str] = Field(min_length=1)
    admin_name: str
    roster: list[Person] = Field(min_length=1)
    escalation: Escalation

    @model_validator(mode="after")
    def _people_in_known_teams(self) -> Staff:
        emails = [p.email for p in self.roster]
        if len(emails) != len(set(emails)):
            raise ValueError("an email is on the roster twice")
        for person in self.roster:
            unknown = set(person.teams) - set(self.teams)
            if unknown:
                raise ValueError(f"{person.email} is in teams that do not exist: {unknown}")
        for team in (self.escalation.from_team, self.escalation.to_team):
            if not self.agents(team):
                raise ValueError(f"the escalation names {team!r}, which has no agent")
        return self

    def agents(self, team: str) -> list[str]:
        """The agents who take the team's cases, in roster order."""
        return [p.email for p in self.roster if p.role is Role.AGENT and team in p.teams]


# -- service_levels.yaml -------------------------------------------------------------------


class Calendar(DataFile):
    name: str
    opening_hours: dict[str, list[str]]
    # (month, day), closed every year.
    holidays: list[tuple[int, int]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _holidays_are_days(self) -> Calendar:
        for month, day in self.holidays:
            date(2000, month, day)  # a leap year: 29 February is a day too
        return self


class SlaTargets(DataFile):
    name: str
    priority: Priority
    # False: counted round the clock.
    business_hours: bool
    first_reply: int = Field(gt=0)
    next_reply: int = Field(gt=0)
    resolution: int = Field(gt=0)


class ServiceLevels(DataFile):
    calendar: Calendar
    policies: list[SlaTargets]

    @model_validator(mode="after")
    def _one_policy_per_priority(self) -> ServiceLevels:
        if sorted(p.priority for p in self.policies) != sorted(Priority):
            raise ValueError("every priority needs exactly one policy")
        return self

    def for_priority(self, priority: Priority) -> SlaTargets:
        return next(p for p in self.policies if p.priority is priority)


# -- policy.yaml ---------------------------------------------------------------------------


class PolicyAdditions(DataFile):
    version_suffix: str = Field(min_length=1)
    programs: list[Program]


# -- knowledge.yaml ------------------------------------------------------------------------


class TextRow(DataFile):
    """What an article and a macro both say: the knowledge base stores both as articles."""

    slug: str
    title: str
    tags: list[str] = Field(default_factory=list)
    product_ids: list[str] = Field(default_factory=list)
    body: str


class ArticleRow(TextRow):
    # For agents only, never shown to customers.
    internal_notes: str = ""


class MacroRow(TextRow):
    pass


class KnownIssueRow(DataFile):
    key: str
    title: str
    description: str
    product_ids: list[str] = Field(default_factory=list)
    conditions: list[str] = Field(default_factory=list)
    # The slug of its article, and the policy program that remedies it.
    article: str
    program: str


class Knowledge(DataFile):
    articles: list[ArticleRow]
    macros: list[MacroRow] = Field(default_factory=list)
    known_issues: list[KnownIssueRow] = Field(default_factory=list)

    @model_validator(mode="after")
    def _issues_name_their_articles(self) -> Knowledge:
        slugs = {a.slug for a in self.articles}
        for issue in self.known_issues:
            if issue.article not in slugs:
                raise ValueError(f"known issue {issue.key!r} names no article: {issue.article!r}")
        return self


# -- stories.yaml --------------------------------------------------------------------------

# Every story case opened within this long before `now`, and no other open case did.
STORIES_WITHIN = timedelta(hours=72)


class StoryCustomer(DataFile):
    first_name: str
    last_name: str
    email: str
    days_ago: int = Field(ge=1)
    membership: str | None = None
    # The tier the customer ends with, whatever the orders earned.
    tier: str


class StoryHistory(DataFile):
    orders: int = Field(ge=0)
    until_days_ago: int = Field(ge=0)


class StoryLine(DataFile):
    product: str
    options: dict[str, str] = Field(default_factory=dict)


class Placed(DataFile):
    days_ago: int = Field(ge=0)
    hours_ago: int = Field(default=0, ge=0)


class StoryOrder(DataFile):
    lines: list[StoryLine] = Field(min_length=1)
    placed: Placed
    promised_days_ago: int | None = None
    transit_days: int | None = Field(default=None, ge=0)
    the_case: bool = False
    sold_out_after: bool = False


class StepChanges(DataFile):
    """Case fields changed right after a step's message (escalation, triage); in this order."""

    team: str | None = None
    assignee: str | None = None
    priority: Priority | None = None
    tags: list[str] | None = None
    # Added to what the case holds: triage's findings stay unless named.
    custom_fields: dict[str, CustomValue] | None = None


class StoryStep(DataFile):
    """Something that happens on a story case after it opens, `hours_ago` before now."""

    hours_ago: float = Field(gt=0)
    kind: MessageKind
    body: str
    # Who writes it; none: the customer, or the desk itself.
    agent: str | None = None
    changes: StepChanges | None = None


class StoryCase(DataFile):
    hours_ago: float = Field(gt=0)
    subject: str
    body: str
    team: str
    assignee: str
    priority: Priority = Priority.NORMAL
    channel: Channel = Channel.EMAIL
    tags: list[str] = Field(default_factory=list)
    custom_fields: dict[str, CustomValue] = Field(default_factory=dict)
    steps: list[StoryStep] = Field(default_factory=list)

    @property
    def owner(self) -> str:
        """The agent who has the case now: the last one it was handed to."""
        handed = [s.changes.assignee for s in self.steps if s.changes and s.changes.assignee]
        return handed[-1] if handed else self.assignee

    @property
    def named(self) -> set[str]:
        """The values the body names: {order}, {promised}."""
        return {field for _, field, _, _ in Formatter().parse(self.body) if field is not None}

    @model_validator(mode="after")
    def _opened_lately_then_steps_in_order(self) -> StoryCase:
        if self.named - {"order", "promised"}:
            raise ValueError(f"the body may name only {{order}} and {{promised}}, not {self.named}")
        if timedelta(hours=self.hours_ago) >= STORIES_WITHIN:
            raise ValueError(f"a story opens within {STORIES_WITHIN} before now")
        times = [self.hours_ago, *(step.hours_ago for step in self.steps)]
        if times != sorted(times, reverse=True) or len(set(times)) != len(times):
            raise ValueError("the steps come after the case opens, each after the one before")
        return self


class Story(DataFile):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    about: str
    customer: StoryCustomer
    history: StoryHistory | None = None
    orders: list[StoryOrder] = Field(min_length=1)
    case: StoryCase

    @model_validator(mode="after")
    def _one_order_for_the_case(self) -> Story:
        if sum(o.the_case for o in self.orders) != 1:
            raise ValueError("exactly one order is `the_case: true`")
        if "promised" in self.case.named and self.orders[self.case_order].promised_days_ago is None:
            raise ValueError(
                "the body names {promised}, but the case's order has no promised_days_ago"
            )
        return self

    @property
    def case_order(self) -> int:
        """The position of the order the case is about."""
        return next(n for n, o in enumerate(self.orders) if o.the_case)


class Stories(DataFile):
    stories: list[Story] = Field(min_length=1)

    def owners(self) -> tuple[tuple[str, str, str], ...]:
        return tuple((s.key, s.case.owner, s.about) for s in self.stories)


# -- asks.yaml -----------------------------------------------------------------------------


Fits = Literal["in_transit", "late", "recently_delivered", "paid", "cancellable"]


class Ask(DataFile):
    """An everyday reason to write in: which orders it fits, who handles it, what is said."""

    issue: str
    weight: int = Field(gt=0)
    team: str
    # None: a general question, about no order.
    fits: Fits | None = None
    subjects: list[str] = Field(min_length=1)
    bodies: list[str] = Field(min_length=1)
    reply: str
    thanks: str
    may_solve: bool = True
    waits: Literal[CaseStatus.PENDING, CaseStatus.ON_HOLD] = CaseStatus.PENDING


class Asks(DataFile):
    asks: list[Ask] = Field(min_length=1)

    @model_validator(mode="after")
    def _a_general_one(self) -> Asks:
        if all(a.fits is not None for a in self.asks):
            raise ValueError("one ask needs no order (no `fits`): the fallback")
        return self

    def general(self) -> Ask:
        """The first ask about no order: what a customer asks when no order fits."""
        return next(a for a in self.asks if a.fits is None)


# -- history.yaml --------------------------------------------------------------------------


class HistoryTables(DataFile):
    priority_weights: dict[Priority, int] = Field(min_length=1)
    remedy_issues: list[str]
    follow_ups: list[str] = Field(min_length=1)
    answers: list[str] = Field(min_length=1)
    survey_comments: dict[int, list[str]]

    @model_validator(mode="after")
    def _a_comment_per_score(self) -> HistoryTables:
        if sorted(self.survey_comments) != [1, 2, 3, 4, 5] or not all(
            self.survey_comments.values()
        ):
            raise ValueError("survey_comments needs comments for each score from 1 to 5")
        return self
