"""A tool's arguments: the JSON schema pieces the tools are declared with, and the check
every call's arguments pass before a handler sees them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from caredesk.domain.errors import ValidationFailed

# Limits every tool shares, beyond its schema: arguments are short identifiers and addresses.
MAX_STRING = 1000
MAX_ITEMS = 100


def string(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def strings(description: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "description": description}


def arguments(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


ADDRESS = {
    "address1": string("First line of the address."),
    "address2": string("Second line of the address, or ''."),
    "city": string("City."),
    "state": string("State or province code."),
    "country": string("Country."),
    "zip": string("Postal code."),
}
ADDRESS_KEYS = list(ADDRESS)


def _check_text(name: str, value: str) -> None:
    if len(value) > MAX_STRING:
        raise ValidationFailed(
            f"argument {name!r} is longer than {MAX_STRING} characters", details={"field": name}
        )
    if "\x00" in value:
        raise ValidationFailed(
            f"argument {name!r} contains a NUL character", details={"field": name}
        )


def validate(schema: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """Check the arguments against the tool's schema: names, types, sizes (not enum values:
    the policy decides what a value outside the list means, and refuses it with its rule)."""
    if not isinstance(values, Mapping):
        raise ValidationFailed("arguments must be an object")
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in values:
            raise ValidationFailed(f"missing argument {name!r}", details={"field": name})
    for name, value in values.items():
        spec = properties.get(name)
        if spec is None:
            raise ValidationFailed(f"unknown argument {name!r}", details={"field": name})
        expected = spec.get("type")
        if expected == "string" and isinstance(value, str):
            _check_text(name, value)
        elif expected == "array" and isinstance(value, list) and len(value) <= MAX_ITEMS:
            for item in value:
                if not isinstance(item, str):
                    raise ValidationFailed(
                        f"argument {name!r} must be a list of strings", details={"field": name}
                    )
                _check_text(name, item)
        elif expected == "array" and isinstance(value, list):
            raise ValidationFailed(
                f"argument {name!r} has more than {MAX_ITEMS} items", details={"field": name}
            )
        elif expected == "integer" and isinstance(value, int) and not isinstance(value, bool):
            if not spec.get("minimum", -(2**63)) <= value <= spec.get("maximum", 2**63 - 1):
                raise ValidationFailed(
                    f"argument {name!r} is out of range", details={"field": name}
                )
        else:
            raise ValidationFailed(
                f"argument {name!r} must be of type {expected}",
                details={"field": name},
            )
