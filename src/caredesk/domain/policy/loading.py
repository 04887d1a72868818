"""Validate a parsed policy file, naming the line and the field of every problem.

A policy is loaded whole or not at all: callers keep the version in force until a new one
validates completely. Reading the file's YAML is an adapter's (`adapters/yaml_files.py`);
what it read arrives here as plain data, with a way to find the line of any field in it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


# The 1-based line of the field at a path of keys and indexes in the file (None: unknown).
LineOf = Callable[[tuple[Any, ...]], int | None]


def validate_policy(data: object, text: str, line_of: LineOf) -> LoadedPolicy:
    """The policy `text` holds, from `data` as its format read it; PolicyInvalid names every
    problem's field and, through `line_of`, its line."""
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
                    line_of(loc),
                    ".".join(str(p) for p in loc),
                    error["msg"].removeprefix("Value error, "),
                )
            )
        raise PolicyInvalid(_dedupe(problems)) from exc
    return LoadedPolicy(policy, text, digest_of(text))


def digest_of(text: str) -> str:
    """What a policy version is known by across processes and databases: its text's SHA-256."""
    return hashlib.sha256(text.encode()).hexdigest()


def _dedupe(problems: list[PolicyProblem]) -> list[PolicyProblem]:
    seen: dict[tuple[int | None, str], PolicyProblem] = {}
    for p in problems:
        seen.setdefault((p.line, p.field), p)
    return list(seen.values())
