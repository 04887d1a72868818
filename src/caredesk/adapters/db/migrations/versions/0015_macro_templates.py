"""macros become sandboxed Jinja templates

Revision ID: 0015_macro_templates
Revises: 0014_policy_changes
Create Date: 2026-12-10

Macros were filled with Python's str.format: `{first_name}`. They are now Jinja templates
filled in a sandbox: `{{ first_name }}`. Every stored macro is rewritten so that it reads the
same once filled: its known placeholders become Jinja variables, and text Jinja would read
as a tag (a `{` before `{`, `%` or `#`) is written so that it stays text. A macro str.format
could not read (a lone brace broke every case page) is kept as text. Version history keeps
what was written then.

The downgrade turns plain `{{ name }}` variables back into `{name}`; a macro that uses more
of Jinja (filters, `if`) keeps that text.
"""

import re
import string
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_macro_templates"
down_revision: str | None = "0014_policy_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The placeholders macros had when this revision was written.
VARIABLES = (
    "first_name",
    "customer_name",
    "agent_name",
    "agent_first_name",
    "case_id",
    "case_subject",
    "order_id",
    "promised_date",
)
_NAMES = "|".join(VARIABLES)
# A `{` that Jinja would take for the start of a tag, or that a variable would follow.
_OPENER = re.compile(r"\{(?=[{%#]|$)")
_LITERAL_BRACE = "{{ '{' }}"
_OLD_PLACEHOLDER = re.compile(rf"(?<!\{{)\{{({_NAMES})\}}(?!\}})")
_NEW_PLACEHOLDER = re.compile(rf"\{{\{{ ({_NAMES}) \}}\}}")


def _text(literal: str) -> str:
    return _OPENER.sub(lambda _: _LITERAL_BRACE, literal)


def to_jinja(body: str) -> str:
    """A str.format macro as a Jinja template that fills the same way."""
    try:
        parts = list(string.Formatter().parse(body))
    except ValueError:
        # str.format could not read it, so it never filled: all of it is text.
        return _text(body)
    out: list[str] = []
    for literal, field, spec, conversion in parts:
        out.append(_text(literal))
        if field is None:
            continue
        if field in VARIABLES and not spec and conversion is None:
            out.append("{{ " + field + " }}")
        else:
            # str.format showed an unknown placeholder as written; it stays so, as text.
            written = "{" + field + (f"!{conversion}" if conversion else "")
            written += (f":{spec}" if spec else "") + "}"
            out.append(_text(written))
    return "".join(out)


def to_format(body: str) -> str:
    """A Jinja macro's plain variables back as str.format placeholders."""
    body = body.replace(_LITERAL_BRACE, "{{")
    return _NEW_PLACEHOLDER.sub(lambda m: "{" + m.group(1) + "}", body)


# The rendered HTML only shows the placeholders as text: they are swapped, nothing else.
def _html_to_jinja(html: str) -> str:
    return _OLD_PLACEHOLDER.sub(lambda m: "{{ " + m.group(1) + " }}", html)


def _html_to_format(html: str) -> str:
    return _NEW_PLACEHOLDER.sub(lambda m: "{" + m.group(1) + "}", html)


_articles = sa.table(
    "kb_articles",
    sa.column("id", sa.BigInteger()),
    sa.column("kind", sa.String()),
    sa.column("body", sa.Text()),
    sa.column("body_html", sa.Text()),
)


def _rewrite(body_of: Callable[[str], str], html_of: Callable[[str], str]) -> None:
    connection = op.get_bind()
    # kb_articles comes from 0004, on a branch of its own: a database that does not have it
    # yet has no macro to rewrite (0004 creates the table empty).
    if not sa.inspect(connection).has_table("kb_articles"):
        return
    rows = connection.execute(
        sa.select(_articles.c.id, _articles.c.body, _articles.c.body_html).where(
            _articles.c.kind == "macro"
        )
    ).all()
    for row in rows:
        body, html = body_of(row.body), html_of(row.body_html)
        if body != row.body or html != row.body_html:
            connection.execute(
                sa.update(_articles)
                .where(_articles.c.id == row.id)
                .values(body=body, body_html=html)
            )


def upgrade() -> None:
    _rewrite(to_jinja, _html_to_jinja)


def downgrade() -> None:
    _rewrite(to_format, _html_to_format)
