"""User-written templates: the macro sandbox refuses every way out, fills what it allows, and
a macro that cannot be filled costs its own entry, never the list."""

from __future__ import annotations

import pytest
from jinja2 import TemplateError

from caredesk.domain.errors import ErrorCode
from caredesk.services.core.templates import (
    MACRO_VARIABLES,
    MAX_MACRO_OUTPUT,
    TemplateInvalid,
    check_macro,
    fill_macro,
    fill_macros,
    sandbox,
)

VALUES = {name: f"<{name}>" for name in MACRO_VARIABLES} | {"first_name": "Ada"}

# Each of these reaches (or tries to reach) Python internals, the template's own context, the
# desk's configuration, or burns the process; none may be saved, and none may fill.
ESCAPES = [
    "{{ first_name.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__['os'] }}",
    "{{ self._TemplateReference__context }}",
    "{{ self }}",
    "{{ config }}",
    "{{ request }}",
    "{{ settings }}",
    "{{ lipsum.__globals__ }}",
    "{{ lipsum() }}",
    "{{ range(10) }}",
    "{{ customer.__dict__ }}",
    "{{ first_name._private }}",
    "{{ first_name.upper() }}",
    "{{ first_name['__class__'] }}",
    "{{ first_name|attr('__class__') }}",
    "{{ first_name|map('upper')|list }}",
    "{{ first_name|center(1000000000) }}",
    "{{ 'x' * 1000000000 }}",
    "{{ 9 ** 9 ** 9 }}",
    "{{ '%s' % first_name }}",
    "{% for x in range(10**9) %}x{% endfor %}",
    "{% for a in first_name %}{% for b in first_name %}x{% endfor %}{% endfor %}",
    "{% set x = first_name %}{{ x }}",
    "{% macro m() %}x{% endmacro %}{{ m() }}",
    "{% include 'base.html' %}",
    "{% import 'base.html' as b %}",
    "{% extends 'base.html' %}",
    "{% filter upper %}x{% endfilter %}",
    "{% with a = 1 %}{{ a }}{% endwith %}",
]


@pytest.mark.parametrize("body", ESCAPES)
def test_a_way_out_of_the_sandbox_is_refused_when_saved_and_never_fills(body: str) -> None:
    with pytest.raises(TemplateInvalid) as refused:
        check_macro(body)
    assert refused.value.code is ErrorCode.TEMPLATE_INVALID
    assert refused.value.details["field"] == "body"
    assert refused.value.details["line"] == 1
    with pytest.raises(TemplateInvalid):
        fill_macro(body, VALUES)


@pytest.mark.parametrize(
    "body",
    [
        "{{ first_name.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ lipsum.__globals__ }}",
        "{{ self._TemplateReference__context }}",
    ],
)
def test_the_shared_sandbox_alone_keeps_internals_out(body: str) -> None:
    """Mail templates may use more of Jinja than macros; the sandbox under both still shows no
    Python internals."""
    env = sandbox(autoescape=False)
    try:
        out = env.from_string(body).render(first_name="Ada")
    except TemplateError:
        return
    assert "class" not in out and "module" not in out and "function" not in out, out


@pytest.mark.parametrize(
    "body",
    ["{{ 9 ** 1000000 }}", "{{ 'x' * 10**9 }}", "{{ [1] * 10**9 }}", "{{ 10**9 * 'x' }}"],
)
def test_the_shared_sandbox_refuses_to_build_huge_values(body: str) -> None:
    with pytest.raises(TemplateError):
        sandbox(autoescape=False).from_string(body).render()


def test_the_shared_sandbox_still_does_ordinary_arithmetic() -> None:
    rendered = sandbox(autoescape=False).from_string("{{ 2 ** 10 }} {{ 'ab' * 3 }} {{ 6 * 7 }}")
    assert rendered.render() == "1024 ababab 42"


def test_the_html_sandbox_escapes_what_it_fills_in() -> None:
    rendered = sandbox(autoescape=True).from_string("<p>{{ name }}</p>").render(name="<b>x</b>")
    assert rendered == "<p>&lt;b&gt;x&lt;/b&gt;</p>"


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("Hello {{ world", 1, "end of print statement"),
        ("Hi {{ first_name }},\n\n{% if order_id %}order {{ order_id }}", 3, "endif"),
        ("Hi {{ first_name }},\n\n{{ fist_name }}", 3, "unknown variable 'fist_name'"),
        ("Hi\n{{ first_name|shout }}", 2, "filter 'shout'"),
        ("Hi {{ first_name }}\n\n\n{{ first_name.__class__ }}", 4, "'.__class__'"),
    ],
)
def test_a_refusal_names_the_line_and_the_problem(body: str, line: int, words: str) -> None:
    with pytest.raises(TemplateInvalid) as refused:
        check_macro(body)
    assert refused.value.line == line
    assert refused.value.details["line"] == line
    assert words in refused.value.details["problem"]
    assert f"line {line}: " in refused.value.message


@pytest.mark.parametrize(
    ("body", "filled"),
    [
        ("Hi {{ first_name }}, order {{ order_id }}.", "Hi Ada, order <order_id>."),
        ("Hello { world", "Hello { world"),
        ("Hello {first_name} }", "Hello {first_name} }"),
        ("{{ first_name|upper }} {{ agent_first_name|lower }}", "ADA <agent_first_name>"),
        ("{% if order_id %}by {{ promised_date }}{% else %}soon{% endif %}", "by <promised_date>"),
        ("{{ case_subject|default('your message', true) }}", "<case_subject>"),
        ("{{ first_name ~ '!' }}{# a note #}", "Ada!"),
        ("{{ '{' }}literal{{ '}' }}", "{literal}"),
    ],
)
def test_what_a_macro_may_use_fills_in(body: str, filled: str) -> None:
    check_macro(body)
    assert fill_macro(body, VALUES) == filled


def test_a_value_that_looks_like_a_template_is_only_text() -> None:
    assert fill_macro("Hi {{ first_name }}", {"first_name": "{{ config }}"}) == "Hi {{ config }}"


def test_a_macro_never_escapes_html_it_is_plain_text_for_the_reply() -> None:
    # The composer's textarea and the outgoing mail escape it where it is shown.
    assert fill_macro("Hi {{ first_name }}", {"first_name": "<Ada & Co>"}) == "Hi <Ada & Co>"


def test_a_macro_that_fails_only_when_filled_is_a_template_problem() -> None:
    body = "{{ first_name|truncate('ten') }}"
    check_macro(body)
    with pytest.raises(TemplateInvalid):
        fill_macro(body, VALUES)
    with pytest.raises(TemplateInvalid):
        fill_macro("{{ first_name }}", {})


def test_a_filled_macro_has_a_size_limit() -> None:
    body = "{{ case_subject }}" * 20
    with pytest.raises(TemplateInvalid, match="over"):
        fill_macro(body, {**VALUES, "case_subject": "x" * (MAX_MACRO_OUTPUT // 10)})


def test_a_macro_that_cannot_be_filled_is_kept_with_its_problem_and_the_rest_fill() -> None:
    seen: list[str] = []
    filled = fill_macros(
        [
            ("good", "Good", "Hi {{ first_name }}"),
            ("broken", "Broken", "Hi {{ first_name"),
            ("old", "Old", "{first_name.__class__.__mro__}"),
            ("escape", "Escape", "{{ first_name.__class__.__mro__ }}"),
            ("after", "After", "Bye {{ first_name }}"),
        ],
        VALUES,
        lambda macro_id, problem: seen.append(macro_id),
    )
    assert [(m.id, m.body, m.problem is None) for m in filled] == [
        ("good", "Hi Ada", True),
        ("broken", "", False),
        # A str.format escape stored before macros were templates is now harmless text.
        ("old", "{first_name.__class__.__mro__}", True),
        ("escape", "", False),
        ("after", "Bye Ada", True),
    ]
    assert seen == ["broken", "escape"]
    assert "line 1" in (filled[1].problem or "")
