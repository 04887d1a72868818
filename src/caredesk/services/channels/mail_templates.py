"""Editable email templates: packaged defaults, admins' edits, and sandboxed rendering."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import Template, TemplateError

from caredesk.domain.agents import Actor, Permission
from caredesk.domain.errors import NotFound, ValidationFailed, must_exist
from caredesk.domain.mail import MailTemplate
from caredesk.services.channels.unit import OutboundMailUnit
from caredesk.services.core.changes import publish_change
from caredesk.services.core.commands import command
from caredesk.services.core.reads import read
from caredesk.services.core.templates import sandbox

MAX_TEMPLATE_CHARS = 100_000
# Templates renamed after the glossary, by the names they had first: an admin's script that
# reads or edits a template by its former name reaches the same template (docs/glossary.md,
# "Deprecated names").
FORMER_NAMES = {"csat_survey": "satisfaction_survey"}

# Templates are edited by admins but rendered with customer data: the sandbox keeps a
# template from reaching Python internals, and HTML parts escape what they interpolate.
_TEXT = sandbox(autoescape=False)
_HTML = sandbox(autoescape=True)


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str | None


def current_name(name: str) -> str:
    return FORMER_NAMES.get(name, name)


def template_in_force(uow: OutboundMailUnit, name: str) -> MailTemplate:
    """The admin's edit when there is one, else the packaged default."""
    name = current_name(name)
    edited = uow.mail.template(name)
    if edited is not None:
        return edited
    return must_exist(uow.formats.packaged_mail_templates().get(name), "mail template", name)


@lru_cache(maxsize=256)
def _compiled(source: str, html: bool) -> Template:
    # Compiling is most of the cost of rendering; the same sources come back all day.
    return (_HTML if html else _TEXT).from_string(source)


def render(template: MailTemplate, variables: dict[str, Any]) -> Rendered:
    """Render the three parts; a template error is the caller's bad input, never a crash."""
    try:
        subject = _compiled(template.subject, False).render(variables)
        text = _compiled(template.text, False).render(variables)
        html = _compiled(template.html, True).render(variables) if template.html else None
    except TemplateError as exc:
        raise ValidationFailed(
            f"mail template {template.name!r} does not render: {exc}",
            details={"template": template.name},
        ) from exc
    # A subject is one header line whatever the template or the data say.
    subject = " ".join(subject.split())
    return Rendered(subject=subject, text=text.strip() + "\n", html=html)


def list_templates(uow: OutboundMailUnit, actor: Actor) -> list[MailTemplate]:
    actor.require(Permission.READ)
    with uow:
        return [
            template_in_force(uow, name) for name in sorted(uow.formats.packaged_mail_templates())
        ]


def get_template(uow: OutboundMailUnit, actor: Actor, name: str) -> MailTemplate:
    return read(uow, actor, Permission.READ, lambda u: template_in_force(u, name))


@command
def edit_template(
    uow: OutboundMailUnit,
    actor: Actor,
    now: datetime,
    name: str,
    *,
    subject: str,
    text: str,
    html: str | None,
) -> MailTemplate:
    """Store an admin's version of a packaged template, checked by rendering it once."""
    actor.require(Permission.MANAGE_POLICY)
    name = current_name(name)
    if name not in uow.formats.packaged_mail_templates():
        raise NotFound("mail template", name)
    for part, value in (("subject", subject), ("text", text), ("html", html or "")):
        if len(value) > MAX_TEMPLATE_CHARS:
            raise ValidationFailed(
                f"the {part} is longer than {MAX_TEMPLATE_CHARS} characters",
                details={"field": part},
            )
    template = MailTemplate(
        name=name,
        subject=subject,
        text=text,
        html=html or None,
        updated_at=now,
        updated_by=actor.ref,
    )
    _check_syntax(template)
    with uow:
        before = uow.mail.template(name)
        uow.mail.save_template(template)
        publish_change(
            uow,
            actor,
            now,
            "mail_template.edited",
            "mail_template",
            name,
            before={"version": before.version} if before else {"version": 0},
            after={"version": template.version},
        )
        uow.commit()
        return template


@command
def reset_template(uow: OutboundMailUnit, actor: Actor, now: datetime, name: str) -> MailTemplate:
    """Drop the admin's edit: the packaged default is in force again."""
    actor.require(Permission.MANAGE_POLICY)
    name = current_name(name)
    if name not in uow.formats.packaged_mail_templates():
        raise NotFound("mail template", name)
    with uow:
        if uow.mail.delete_template(name):
            publish_change(uow, actor, now, "mail_template.reset", "mail_template", name)
        uow.commit()
        return uow.formats.packaged_mail_templates()[name]


def _check_syntax(template: MailTemplate) -> None:
    try:
        _TEXT.parse(template.subject)
        _TEXT.parse(template.text)
        if template.html:
            _HTML.parse(template.html)
    except TemplateError as exc:
        raise ValidationFailed(
            f"the template does not parse: {exc}", details={"template": template.name}
        ) from exc
