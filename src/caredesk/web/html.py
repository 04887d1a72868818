"""What the console and the portal draw their pages with: one Jinja environment each, the same
rules for both (templates from the surface's own folder, HTML escaped, block tags trimmed)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape


def page_templates(folder: Path) -> Environment:
    """The surface adds its own filters and globals; the rest is the same for every page."""
    return Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
