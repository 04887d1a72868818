"""What the console and the portal draw their pages with: one Jinja environment each, the same
rules for both (templates from the surface's own folder, then the layout both share, HTML
escaped, block tags trimmed)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request

# The page both surfaces draw in (layout.html); each surface's base.html fills it.
SHARED_TEMPLATES = Path(__file__).parent / "templates"


def page_templates(folder: Path) -> Environment:
    """The surface adds its own filters and globals; the rest is the same for every page."""
    return Environment(
        loader=ChoiceLoader([FileSystemLoader(folder), FileSystemLoader(SHARED_TEMPLATES)]),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def page_html(
    templates: Environment,
    template: str,
    request: Request,
    notices: Mapping[str, str],
    **context: Any,
) -> str:
    """A page, given what every page shows: where it is and the notice its address names."""
    return templates.get_template(template).render(
        request=request,
        path=request.url.path,
        notice=notices.get(request.query_params.get("notice", "")),
        **context,
    )
