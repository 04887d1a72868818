"""Templates agents write (mail templates, macros): one sandboxed Jinja environment.

Templates are written by staff but filled with customer data and shown to everyone who
uses the desk, so a template may never reach Python internals, run code, or take the process
down. Three layers keep it so:

- the sandbox (`ImmutableSandboxedEnvironment`): no `_private` or dunder attribute, no
  unsafe callables, no changing the values passed in;
- a guard on the two operators that can build huge values out of a few characters
  (`**` and `*`);
- for macros, an allow-list of what the template may contain at all (plain variables, a few
  filters and `if`), checked when a macro is saved and again before it is filled.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from caredesk.domain.errors import DomainError, ErrorCode

# The largest string or list `*` may build, and the largest exponent `**` may use.
MAX_PRODUCT_LENGTH = 100_000
MAX_EXPONENT = 100


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"an exponent above {MAX_EXPONENT} is not allowed")
            return operator.pow(left, right)
        if op == "*":
            for seq, times in ((left, right), (right, left)):
                repeated = isinstance(seq, str | list | tuple) and isinstance(times, int)
                if repeated and len(seq) * times > MAX_PRODUCT_LENGTH:
                    raise SecurityError(
                        f"repeating a value beyond {MAX_PRODUCT_LENGTH} items is not allowed"
                    )
            return operator.mul(left, right)
        return super().call_binop(context, op, left, right)


def sandbox(*, autoescape: bool, strict: bool = False) -> ImmutableSandboxedEnvironment:
    """The environment every template an agent wrote renders in.

    `autoescape` for HTML output; `strict` makes an unknown variable an error rather than an
    empty string (macros, whose variables are a fixed list).
    """
    env = _Sandbox(
        autoescape=autoescape,
        keep_trailing_newline=True,
        # Lenient: an unknown name is empty (mail templates test optional values with `if`).
        undefined=StrictUndefined if strict else Undefined,
    )
    return env


# --- macros --------------------------------------------------------------------------------

# The variables a macro may use, each filled from the case it is inserted into.
MACRO_VARIABLES: dict[str, str] = {
    "first_name": "the customer's first name",
    "customer_name": "the customer's full name",
    "agent_name": "your name",
    "agent_first_name": "your first name",
    "case_id": "the case number",
    "case_subject": "the case's subject",
    "order_id": "the case's first order",
    "promised_date": "that order's promised date (YYYY-MM-DD), or empty",
}

# Filters that only reshape a short string; none can build a large value or call out.
MACRO_FILTERS = frozenset(
    {"capitalize", "d", "default", "lower", "title", "trim", "truncate", "upper"}
)
MACRO_TESTS = frozenset({"defined", "none", "string"})
# What a macro is made of: text, variables, constants, filters, tests, `if` and `~`.
_MACRO_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.Filter,
    nodes.Test,
    nodes.If,
    nodes.CondExpr,
    nodes.Concat,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Keyword,
    nodes.Tuple,
    nodes.List,
)
# A filled macro longer than this is refused: a reply is a few paragraphs.
MAX_MACRO_OUTPUT = 50_000


class TemplateInvalid(DomainError):
    """A template that does not parse, uses what it may not, or fails to fill."""

    code = ErrorCode.TEMPLATE_INVALID

    def __init__(self, problem: str, line: int | None, field: str = "body") -> None:
        where = f"line {line}: " if line else ""
        super().__init__(
            f"the template does not work: {where}{problem}",
            details={"field": field, "line": line, "problem": problem},
        )
        self.problem = problem
        self.line = line


_MACRO_ENV = sandbox(autoescape=False, strict=True)


def _refusal(node: nodes.Node) -> str | None:
    """Why this node may not be in a macro, or None when it may."""
    if isinstance(node, nodes.Getattr):
        return f"'.{node.attr}': a macro uses plain variables, not their attributes"
    if isinstance(node, nodes.Getitem | nodes.Slice):
        return "'[...]': a macro uses plain variables, not parts of them"
    if isinstance(node, nodes.Call):
        return "a macro cannot call functions or methods"
    if isinstance(node, nodes.Stmt) and not isinstance(node, nodes.If | nodes.Output):
        return f"'{{% {type(node).__name__.lower()} %}}' is not allowed in a macro; use if"
    if isinstance(node, nodes.Name) and node.name not in MACRO_VARIABLES:
        return f"unknown variable '{node.name}'; a macro may use {', '.join(MACRO_VARIABLES)}"
    if isinstance(node, nodes.Filter) and node.name not in MACRO_FILTERS:
        return f"filter '{node.name}' is not allowed; use {', '.join(sorted(MACRO_FILTERS))}"
    if isinstance(node, nodes.Test) and node.name not in MACRO_TESTS:
        return f"test '{node.name}' is not allowed; use {', '.join(sorted(MACRO_TESTS))}"
    if isinstance(node, nodes.BinExpr | nodes.UnaryExpr):
        return f"the '{node.operator}' operator is not allowed in a macro"
    if not isinstance(node, _MACRO_NODES):
        return f"'{type(node).__name__}' is not allowed in a macro"
    return None


@lru_cache(maxsize=512)
def _compiled_macro(body: str) -> Template:
    # Parsing and compiling are most of the cost; the same bodies come back on every page.
    try:
        tree = _MACRO_ENV.parse(body)
    except TemplateSyntaxError as exc:
        raise TemplateInvalid(exc.message or "syntax error", exc.lineno) from exc
    for node in tree.find_all(nodes.Node):
        problem = _refusal(node)
        if problem is not None:
            raise TemplateInvalid(problem, getattr(node, "lineno", None))
    return _MACRO_ENV.from_string(tree)


def check_macro(body: str) -> None:
    """Refuse a macro body that would not fill: bad syntax, an unknown variable, or anything
    beyond variables, the allowed filters and `if`."""
    _compiled_macro(body)


def fill_macro(body: str, values: Mapping[str, str]) -> str:
    """The macro with these values in; TemplateInvalid when it cannot be filled."""
    template = _compiled_macro(body)
    out: list[str] = []
    size = 0
    try:
        for chunk in template.generate(dict(values)):
            size += len(chunk)
            if size > MAX_MACRO_OUTPUT:
                raise TemplateInvalid(f"it fills to over {MAX_MACRO_OUTPUT} characters", None)
            out.append(chunk)
    except TemplateError as exc:
        raise TemplateInvalid(str(exc.message or exc), getattr(exc, "lineno", None)) from exc
    except (TypeError, ValueError, ArithmeticError) as exc:
        # A filter given an argument of the wrong kind (`truncate('ten')`).
        raise TemplateInvalid(str(exc), None) from exc
    return "".join(out)


@dataclass(frozen=True, slots=True)
class FilledMacro:
    """A macro as the composer offers it: its text for this case, or why it has none."""

    id: str
    title: str
    body: str
    problem: str | None = None


def fill_macros(
    macros: Sequence[tuple[str, str, str]],
    values: Mapping[str, str],
    on_problem: Callable[[str, TemplateInvalid], None] | None = None,
) -> list[FilledMacro]:
    """Fill each (id, title, body); one that cannot be filled is kept with its problem, so a
    broken macro costs its own entry and never the page."""
    filled = []
    for macro_id, title, body in macros:
        try:
            filled.append(FilledMacro(macro_id, title, fill_macro(body, values)))
        except TemplateInvalid as exc:
            if on_problem is not None:
                on_problem(macro_id, exc)
            filled.append(FilledMacro(macro_id, title, "", exc.message))
    return filled
