"""Parse and validate a policy file, naming the line and the field of every problem.

A policy is loaded whole or not at all: callers keep the version in force until a new one
validates completely.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.domain.policy.model import Policy


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class PolicyInvalid(DomainError):
    code = ErrorCode.POLICY_INVALID

    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = problems
        super().__init__(
            "the policy is invalid: " + "; ".join(str(p) for p in problems),
            details={
                "problems": [
                    {"line": p.line, "field": p.field, "message": p.message} for p in problems
                ]
            },
        )


@dataclass(frozen=True, slots=True)
class LoadedPolicy:
    policy: Policy
    text: str
    digest: str

    @property
    def version(self) -> str:
        return self.policy.version


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
    if not isinstance(data, dict):
        raise PolicyInvalid([PolicyProblem(1, "", "a policy is a mapping at the top level")])
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            # Union members add their class names to the location; they are not fields.
            loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p[:1].isupper()))
            problems.append(
                PolicyProblem(
                    _line_of(root, loc),
                    ".".join(str(p) for p in loc),
                    error["msg"].removeprefix("Value error, "),
                )
            )
        raise PolicyInvalid(_dedupe(problems)) from exc
    return LoadedPolicy(policy, text, hashlib.sha256(text.encode()).hexdigest())


def _dedupe(problems: list[PolicyProblem]) -> list[PolicyProblem]:
    seen: dict[tuple[int | None, str], PolicyProblem] = {}
    for p in problems:
        seen.setdefault((p.line, p.field), p)
    return list(seen.values())
