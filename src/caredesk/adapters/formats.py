"""The desk's text formats as the services ask for them (`TextFormats`): Markdown rendered and
sanitised (`markup.py`), and YAML read (`yaml_files.py`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from caredesk.adapters import markup, yaml_files
from caredesk.adapters.mail import parse
from caredesk.domain.mail import MailTemplate
from caredesk.domain.policy.loading import LoadedPolicy


class DeskFormats:
    def render_markdown(self, text: str) -> str:
        return markup.render_markdown(text)

    def plain_text(self, text: str) -> str:
        return markup.plain_text(text)

    def html_text(self, markup: str) -> str:
        return parse.html_to_text(parse.sanitise_html(markup))

    def parse_policy(self, text: str) -> LoadedPolicy:
        return yaml_files.parse_policy(text)

    def packaged_mail_templates(self) -> Mapping[str, MailTemplate]:
        return yaml_files.packaged_mail_templates()

    def packaged_macros(self) -> Sequence[tuple[str, str, str]]:
        return yaml_files.packaged_macros()

    def parse_yaml(self, text: str) -> object:
        return yaml_files.parse_yaml(text)
