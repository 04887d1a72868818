"""A response body reads a domain object's fields by name, and a request body gives its fields
to a command by name; in both, only what is said otherwise is spelt out."""

from __future__ import annotations

from dataclasses import dataclass, field

from caredesk.web.api.common import fields_of
from caredesk.web.api.schemas.base import OutOf, Strict


@dataclass
class Part:
    code: str


@dataclass
class Thing:
    id: int
    name: str
    parts: list[Part] = field(default_factory=list)
    internal: str = "not said"


class PartOut(OutOf[Part]):
    code: str


class ThingOut(OutOf[Thing]):
    id: int
    name: str
    parts: list[PartOut]
    url: str | None = None


def test_a_body_reads_each_field_from_the_attribute_of_its_name() -> None:
    out = ThingOut.of(Thing(1, "box", [Part("a")]))
    assert out.model_dump() == {"id": 1, "name": "box", "parts": [{"code": "a"}], "url": None}


def test_a_field_given_by_name_is_said_instead_of_the_attribute() -> None:
    out = ThingOut.of(Thing(2, "box", [Part("a")]), name="crate", url="/things/2")
    assert out.model_dump() == {
        "id": 2,
        "name": "crate",
        "parts": [{"code": "a"}],
        "url": "/things/2",
    }


def test_a_field_the_object_lacks_keeps_its_default_and_nested_objects_are_read_in_turn() -> None:
    out = ThingOut.of(Thing(3, "box"), parts=[Part("b"), Part("c")])
    assert out.url is None
    assert [p.code for p in out.parts] == ["b", "c"]


class ThingIn(Strict):
    name: str
    colour: str = "red"
    version: int | None = None


def test_a_request_body_gives_its_fields_under_their_names() -> None:
    assert fields_of(ThingIn(name="box")) == {"name": "box", "colour": "red", "version": None}


def test_a_field_can_be_left_out_converted_or_added() -> None:
    body = ThingIn(name="box", version=3)
    fields = fields_of(body, exclude={"version"}, colour="RED", expected_version=3)
    assert fields == {"name": "box", "colour": "RED", "expected_version": 3}
