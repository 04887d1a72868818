"""The demo's fixed data: the YAML files under `data/`, each read once when first needed and
validated, so a mistake in one is an error naming the file and the field, before anything is
written to the desk.

Checks that span files (a story's product is in the catalogue, its agent on the roster) run
when the file that refers to the other is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources
from typing import TypeVar

import yaml
from pydantic import ValidationError

from caredesk.demo.schema import (
    Asks,
    Catalogue,
    CustomerTables,
    DataFile,
    HistoryTables,
    Knowledge,
    PolicyAdditions,
    ServiceLevels,
    Staff,
    Stories,
    StoryLine,
)
from caredesk.domain.errors import ValidationFailed

Table = TypeVar("Table", bound=DataFile)


class DemoDataInvalid(ValidationFailed):
    """A data file of the demo that does not hold what the builder needs; `demo load` says
    which file and which fields, and writes nothing."""

    def __init__(self, file: str, problems: Iterable[tuple[str, str]]) -> None:
        self.file = file
        self.problems = list(problems)
        listed = "; ".join(
            f"{field or '(top level)'}: {problem}" for field, problem in self.problems
        )
        super().__init__(
            f"demo data {file}: {listed}",
            details={"file": file, "fields": [field for field, _ in self.problems]},
        )


def parse(file: str, text: str, model: type[Table]) -> Table:
    """`text` as the `model` of data file `file`, or `DemoDataInvalid` saying where it fails."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DemoDataInvalid(file, [("", f"not valid YAML: {exc}")]) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            (
                ".".join(str(part) for part in error["loc"]),
                error["msg"].removeprefix("Value error, "),
            )
            for error in exc.errors()
        ]
        raise DemoDataInvalid(file, problems) from exc


def _table(
    file: str,
    model: type[Table],
    problems: Callable[[Table], list[tuple[str, str]]] | None = None,
) -> Callable[[], Table]:
    """The reader of one data file: it reads and checks the file on first use, then keeps it.
    `problems` says what the file names that the files it refers to do not have."""

    @cache
    def read() -> Table:
        source = resources.files("caredesk.demo").joinpath("data").joinpath(file)
        found = parse(file, source.read_text("utf-8"), model)
        listed = problems(found) if problems is not None else []
        if listed:
            raise DemoDataInvalid(file, listed)
        return found

    return read


def story_problems(stories: Stories) -> list[tuple[str, str]]:
    """What the stories name that the catalogue or the staff do not have."""
    teams, agents = set(staff_data().teams), {p.email for p in staff_data().roster}
    problems: list[tuple[str, str]] = []
    for n, story in enumerate(stories.stories):
        where = f"stories.{n}"
        for o, order in enumerate(story.orders):
            for m, line in enumerate(order.lines):
                problem = _line_problem(line)
                if problem:
                    problems.append((f"{where}.orders.{o}.lines.{m}", problem))
        case = story.case
        named: list[tuple[str, str | None, set[str]]] = [
            ("case.team", case.team, teams),
            ("case.assignee", case.assignee, agents),
        ]
        for s, step in enumerate(case.steps):
            at = f"case.steps.{s}"
            named.append((f"{at}.agent", step.agent, agents))
            if step.changes is not None:
                named.append((f"{at}.changes.team", step.changes.team, teams))
                named.append((f"{at}.changes.assignee", step.changes.assignee, agents))
        problems += [
            (f"{where}.{field}", f"{value!r} is not in staff.yaml")
            for field, value, known in named
            if value is not None and value not in known
        ]
    return problems


def _line_problem(line: StoryLine) -> str | None:
    product = next((p for p in catalogue_data().products if p.id == line.product), None)
    if product is None:
        return f"no product {line.product!r} in catalogue.yaml"
    for axis, value in line.options.items():
        if value not in product.options.get(axis, []):
            return f"{line.product!r} has no {axis} {value!r} in catalogue.yaml"
    return None


def _knowledge_problems(found: Knowledge) -> list[tuple[str, str]]:
    programs = {p.id for p in policy_data().programs}
    return [
        (f"known_issues.{n}.program", f"no program {issue.program!r} in policy.yaml")
        for n, issue in enumerate(found.known_issues)
        if issue.program not in programs
    ]


def _ask_problems(found: Asks) -> list[tuple[str, str]]:
    staff = staff_data()
    return [
        (f"asks.{n}.team", f"no agent of staff.yaml takes {ask.team!r}'s cases")
        for n, ask in enumerate(found.asks)
        if not staff.agents(ask.team)
    ]


catalogue_data = _table("catalogue.yaml", Catalogue)
customer_data = _table("customers.yaml", CustomerTables)
staff_data = _table("staff.yaml", Staff)
service_level_data = _table("service_levels.yaml", ServiceLevels)
policy_data = _table("policy.yaml", PolicyAdditions)
knowledge_data = _table("knowledge.yaml", Knowledge, _knowledge_problems)
story_data = _table("stories.yaml", Stories, story_problems)
ask_data = _table("asks.yaml", Asks, _ask_problems)
history_data = _table("history.yaml", HistoryTables)

# Every file, in an order where each is read after those it refers to.
ALL_TABLES: tuple[Callable[[], DataFile], ...] = (
    catalogue_data,
    customer_data,
    staff_data,
    service_level_data,
    policy_data,
    knowledge_data,
    story_data,
    ask_data,
    history_data,
)


def check_all() -> None:
    """Read and check every data file, so a mistake stops a load before it writes."""
    for table in ALL_TABLES:
        table()
