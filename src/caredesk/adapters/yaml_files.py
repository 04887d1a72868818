"""The desk's YAML: policy files, and the mail templates and macros packaged with the desk.

Parsing stays here, at the edge: the domain validates what was read (`validate_policy`), and
the services get these through `TextFormats` (`services/core/ports.py`).
"""

from __future__ import annotations

from functools import cache, partial
from importlib import resources
from typing import Any

import yaml

from caredesk.domain.errors import ValidationFailed
from caredesk.domain.mail import MailTemplate
from caredesk.domain.policy.loading import (
    LoadedPolicy,
    PolicyInvalid,
    PolicyProblem,
    validate_policy,
)


def _line_of(node: yaml.Node | None, path: tuple[Any, ...]) -> int | None:
    """Walk the composed YAML to the deepest node on `path` and return its 1-based line."""
    best = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = next(
                (value for key, value in node.value if getattr(key, "value", None) == str(part)),
                None,
            )
            if match is None:
                key_node = next(
                    (key for key, _ in node.value if getattr(key, "value", None) == part), None
                )
                return key_node.start_mark.line + 1 if key_node is not None else best
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return best
            node = node.value[part]
        else:
            return best
        best = node.start_mark.line + 1
    return best


def parse_policy(text: str) -> LoadedPolicy:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyInvalid([PolicyProblem(line, "", f"not valid YAML: {problem}")]) from exc
    return validate_policy(data, text, partial(_line_of, root))


@cache
def packaged_mail_templates() -> dict[str, MailTemplate]:
    source = resources.files("caredesk.mail_templates").joinpath("defaults.yaml")
    data = yaml.safe_load(source.read_text("utf-8"))
    return {
        name: MailTemplate(
            name=name, subject=spec["subject"], text=spec["text"], html=spec.get("html")
        )
        for name, spec in data.items()
    }


@cache
def packaged_macros() -> tuple[tuple[str, str, str], ...]:
    """(id, title, body) of the macros that come with the desk, kept beside their feature."""
    text = resources.files("caredesk.services.knowledge").joinpath("macros.yaml").read_text("utf-8")
    return tuple((m["id"], m["title"], m["body"]) for m in yaml.safe_load(text)["macros"])


def parse_yaml(text: str) -> object:
    """A YAML document typed into a form, as plain data (safe loading: no objects)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationFailed(f"not valid YAML: {exc}") from exc
