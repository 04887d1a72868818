"""The SLA administration's YAML forms read into what the calendar and policy commands take:
an unknown field, a calendar named that does not exist or targets that are not minutes are
refused with the field they concern."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from caredesk.domain.agents import Actor
from caredesk.domain.errors import ValidationFailed
from caredesk.services.console.unit import ConsoleUnit
from caredesk.services.core.ports import TextFormats
from caredesk.services.sla import sla

CALENDAR_FIELDS = {"name", "timezone", "hours", "holidays"}
POLICY_FIELDS = {"name", "targets", "calendar", "warn_percent", "match", "position", "active"}


def _mapping(formats: TextFormats, text: str, known: set[str]) -> dict[str, Any]:
    data = formats.parse_yaml(text)
    if not isinstance(data, dict):
        raise ValidationFailed("write a YAML mapping (name: …, on separate lines)")
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValidationFailed(f"unknown field {unknown[0]!r}", details={"field": unknown[0]})
    return data


def calendar_fields(formats: TextFormats, text: str) -> dict[str, Any]:
    data = _mapping(formats, text, CALENDAR_FIELDS)
    return {
        "name": str(data.get("name", "")),
        "timezone": str(data.get("timezone", "UTC")),
        "hours": data.get("hours") or {},
        "holidays": [str(d) for d in data.get("holidays") or []],
    }


def policy_fields(
    formats: TextFormats, read: Callable[[], ConsoleUnit], actor: Actor, text: str
) -> dict[str, Any]:
    """A policy's fields; its calendar named, as people write it, and found by that name.

    A value of the wrong kind (a word for a number) raises ValueError or TypeError."""
    data = _mapping(formats, text, POLICY_FIELDS)
    calendar_id = None
    if data.get("calendar"):
        calendars = sla.list_calendars(read(), actor)
        found = [c.id for c in calendars if c.name == str(data["calendar"])]
        if not found:
            raise ValidationFailed(
                f"no calendar named {data['calendar']!r}", details={"field": "calendar"}
            )
        calendar_id = found[0]
    targets = data.get("targets")
    if not isinstance(targets, dict):
        raise ValidationFailed("targets: minutes per metric", details={"field": "targets"})
    return {
        "name": str(data.get("name", "")),
        "targets": targets,
        "calendar_id": calendar_id,
        "warn_percent": int(data.get("warn_percent", sla.DEFAULT_WARN_PERCENT)),
        "match": data.get("match") or {},
        "position": int(data.get("position", 100)),
        "active": bool(data.get("active", True)),
    }
