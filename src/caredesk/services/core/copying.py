"""One record built from another that says the same things under the same names."""

from __future__ import annotations

from dataclasses import Field, fields
from typing import Any, ClassVar, Protocol, TypeVar


class Dataclass(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]


D = TypeVar("D", bound=Dataclass)


def built_from(cls: type[D], source: Dataclass, **given: Any) -> D:
    """A `cls` whose fields that `source` also has take its values, and the rest `given`.

    What `given` names wins over `source`: the conversions and the fields of `cls` alone are
    said at the call, and a field added to both is carried over without one.
    """
    shared = {f.name for f in fields(cls)} & {f.name for f in fields(source)}
    return cls(**({name: getattr(source, name) for name in shared} | given))
