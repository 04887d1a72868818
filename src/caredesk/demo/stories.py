"""The five seed stories of stories.yaml: each customer with their past and the order the
story is about, then the case they open, opened last so the stories head every queue."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, overload

from caredesk.demo.catalogue import variant
from caredesk.demo.customers import DemoCustomer, Ids, new_customer
from caredesk.demo.desk import Staff
from caredesk.demo.orders import order_history, place_order, spoken_date
from caredesk.demo.schema import Story, StoryOrder, StoryStep
from caredesk.demo.tables import story_data
from caredesk.domain.agents import SYSTEM
from caredesk.domain.catalog import Product
from caredesk.domain.orders import Order
from caredesk.services.cases import cases
from caredesk.services.unit_of_work import UnitOfWorkFactory

STORY_TAG = "seed-story"

StoryOwner = tuple[str, str, str]


class _StoryOwners(Sequence[StoryOwner]):
    """Each story, the agent it is assigned to now, and what it is about, as stories.yaml
    says. A sequence that reads the file when first asked, because nothing is read at import
    time; callers use it as the tuple it always was."""

    @overload
    def __getitem__(self, index: int) -> StoryOwner: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[StoryOwner]: ...

    def __getitem__(self, index: int | slice) -> StoryOwner | Sequence[StoryOwner]:
        return story_data().owners()[index]

    def __len__(self) -> int:
        return len(story_data().stories)

    def __iter__(self) -> Iterator[StoryOwner]:
        return iter(story_data().owners())


# story, the agent it is assigned to now (sign in as them to work it), what it is about
STORY_OWNERS: Sequence[StoryOwner] = _StoryOwners()


@dataclass(frozen=True, slots=True)
class BuiltStory:
    """A story's customer and the order its case is about, ready to be written."""

    story: Story
    demo_customer: DemoCustomer
    order: Order

    def body(self, now: datetime) -> str:
        """The case's first message, naming its order and the date promised for it."""
        planned = self.story.orders[self.story.case_order]
        promised = ""
        if planned.promised_days_ago is not None:
            promised = spoken_date((now - timedelta(days=planned.promised_days_ago)).date())
        return self.story.case.body.format(order=self.order.id, promised=promised)


def build_story(
    rng: random.Random, ids: Ids, products: dict[str, Product], now: datetime, story: Story
) -> BuiltStory:
    """The story's customer, their history, then its orders in the order written."""
    person = story.customer
    demo_customer = new_customer(rng, ids, now, person)
    if story.history is not None:
        until = now - timedelta(days=story.history.until_days_ago)
        order_history(rng, ids, demo_customer, products, now, story.history.orders, until=until)
    placed = []
    for planned in story.orders:
        order = _story_order(rng, ids, products, now, demo_customer, planned)
        demo_customer.orders.append(order)
        placed.append(order)
    demo_customer.customer.tier = person.tier
    return BuiltStory(story, demo_customer, placed[story.case_order])


def _story_order(
    rng: random.Random,
    ids: Ids,
    products: dict[str, Product],
    now: datetime,
    demo_customer: DemoCustomer,
    planned: StoryOrder,
) -> Order:
    lines = [
        (products[line.product], variant(products, line.product, line.options))
        for line in planned.lines
    ]
    placed = now - timedelta(days=planned.placed.days_ago, hours=planned.placed.hours_ago)
    promised = None
    if planned.promised_days_ago is not None:
        promised = (now - timedelta(days=planned.promised_days_ago)).date()
    transit = None if planned.transit_days is None else timedelta(days=planned.transit_days)
    order = place_order(
        rng, ids, demo_customer, lines, placed, now, promised=promised, transit=transit
    )
    if planned.sold_out_after:
        for _, sold in lines:
            sold.available = False
    return order


def open_story_case(
    uow_factory: UnitOfWorkFactory, staff: Staff, built: BuiltStory, now: datetime
) -> None:
    """The story's case, assigned to its agent, and everything said and changed on it since."""
    story, case = built.story, built.story.case
    opened = now - timedelta(hours=case.hours_ago)
    tags = [STORY_TAG, f"story:{story.key}", *case.tags]
    view = cases.create_case(
        uow_factory(),
        SYSTEM,
        opened,
        customer_id=built.demo_customer.customer.id,
        subject=case.subject,
        body=built.body(now),
        channel=case.channel,
        priority=case.priority,
        team_id=staff.team_ids[case.team],
        tags=tags,
        order_ids=[built.order.id],
        custom_fields=dict(case.custom_fields),
    )
    case_id = view.case.id
    assert case_id is not None
    cases.assign_case(
        uow_factory(),
        SYSTEM,
        opened + timedelta(minutes=12),
        case_id,
        assignee_id=staff.agent_ids[case.assignee],
    )
    for step in case.steps:
        tags = _take_step(uow_factory, staff, case_id, step, tags, now)


def _take_step(
    uow_factory: UnitOfWorkFactory,
    staff: Staff,
    case_id: int,
    step: StoryStep,
    tags: list[str],
    now: datetime,
) -> list[str]:
    """The step's message, then its changes to the case; returns the case's tags after."""
    at = now - timedelta(hours=step.hours_ago)
    actor = staff.actor(step.agent) if step.agent else SYSTEM
    cases.add_message(uow_factory(), actor, at, case_id, kind=step.kind, body=step.body)
    if step.changes is None:
        return tags
    current = cases.get_case(uow_factory(), actor, case_id).case
    asked = step.changes
    changes: dict[str, Any] = {}
    if asked.team is not None:
        changes["team_id"] = staff.team_ids[asked.team]
    if asked.assignee is not None:
        changes["assignee_id"] = staff.agent_ids[asked.assignee]
    if asked.priority is not None:
        changes["priority"] = asked.priority.value
    if asked.tags is not None:
        tags = [*tags, *asked.tags]
        changes["tags"] = tags
    if asked.custom_fields is not None:
        # Added to what the case holds: triage's findings stay unless named.
        changes["custom_fields"] = {**current.custom_fields, **asked.custom_fields}
    cases.update_case(
        uow_factory(),
        actor,
        at + timedelta(minutes=3),
        case_id,
        expected_version=current.version,
        changes=changes,
    )
    return tags


def build_stories(
    rng: random.Random, ids: Ids, products: dict[str, Product], now: datetime
) -> list[BuiltStory]:
    return [build_story(rng, ids, products, now, story) for story in story_data().stories]
