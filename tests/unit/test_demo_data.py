"""The demo's data files: every one reads and checks out, and a mistake in one is an error
that names the file and the field, before the builder writes anything."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Any

import pytest
import yaml

from caredesk import demo
from caredesk.demo import tables
from caredesk.demo.schema import Catalogue, DataFile, ServiceLevels, Staff, Stories
from caredesk.domain.errors import ValidationFailed


def _packaged(file: str) -> str:
    return resources.files("caredesk.demo").joinpath("data").joinpath(file).read_text("utf-8")


def test_every_data_file_reads_and_checks_out() -> None:
    tables.check_all()
    assert [key for key, _, _ in demo.STORY_OWNERS] == [
        "label-printer",
        "missed-date",
        "wrong-items",
        "new-baby",
        "escalated-script",
    ]
    assert len(demo.STORY_OWNERS) == 5 and demo.STORY_OWNERS[-1][1] == "sam@caredesk.example"


def test_a_missing_field_names_the_file_and_the_field() -> None:
    data = yaml.safe_load(_packaged("stories.yaml"))
    del data["stories"][1]["case"]["subject"]

    with pytest.raises(demo.DemoDataInvalid) as refused:
        tables.parse("stories.yaml", yaml.safe_dump(data), Stories)

    assert refused.value.file == "stories.yaml"
    assert [field for field, _ in refused.value.problems] == ["stories.1.case.subject"]
    assert "demo data stories.yaml: stories.1.case.subject: Field required" in str(refused.value)
    # The CLI shows it as any refusal: a message and exit 1.
    assert isinstance(refused.value, ValidationFailed)


@pytest.mark.parametrize(
    ("file", "model", "change", "field", "problem"),
    [
        (
            "catalogue.yaml",
            Catalogue,
            lambda d: d["products"][3]["surcharges"].update(width={"160cm": 60}),
            "products.3",
            "surcharges name values that 'width' does not offer",
        ),
        (
            "catalogue.yaml",
            Catalogue,
            lambda d: d["products"][8]["options"].update(size=["4", 6]),
            "products.8.options.size.1",
            "Input should be a valid string",
        ),
        (
            "service_levels.yaml",
            ServiceLevels,
            lambda d: d["policies"].pop(),
            "",
            "every priority needs exactly one policy",
        ),
        (
            "stories.yaml",
            Stories,
            lambda d: d["stories"][0]["orders"][1].update(the_case=True),
            "stories.0",
            "exactly one order is `the_case: true`",
        ),
        (
            "stories.yaml",
            Stories,
            lambda d: d["stories"][1]["case"].update(body="Where is {parcel}?"),
            "stories.1.case",
            "the body may name only {order} and {promised}",
        ),
    ],
)
def test_a_file_that_contradicts_itself_says_where(
    file: str,
    model: type[DataFile],
    change: Callable[[dict[str, Any]], object],
    field: str,
    problem: str,
) -> None:
    data = yaml.safe_load(_packaged(file))
    change(data)

    with pytest.raises(demo.DemoDataInvalid) as refused:
        tables.parse(file, yaml.safe_dump(data), model)

    [(named, said)] = refused.value.problems
    assert named == field and problem in said, refused.value.problems


def test_a_story_naming_what_the_other_files_lack_says_where() -> None:
    data = yaml.safe_load(_packaged("stories.yaml"))
    data["stories"][2]["orders"][0]["lines"][0]["product"] = "party-hat"
    data["stories"][4]["case"]["steps"][2]["changes"]["assignee"] = "nobody@caredesk.example"
    stories = tables.parse("stories.yaml", yaml.safe_dump(data), Stories)

    assert tables.story_problems(stories) == [
        ("stories.2.orders.0.lines.0", "no product 'party-hat' in catalogue.yaml"),
        (
            "stories.4.case.steps.2.changes.assignee",
            "'nobody@caredesk.example' is not in staff.yaml",
        ),
    ]


def test_text_that_is_not_yaml_says_so() -> None:
    with pytest.raises(
        demo.DemoDataInvalid, match=r"demo data staff.yaml: \(top level\): not valid YAML"
    ):
        tables.parse("staff.yaml", "teams: [Front line", Staff)
