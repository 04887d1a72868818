"""docs/architecture.md names the files of each feature in each layer: each must exist, so
the map a newcomer reads is the code as it is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
PACKAGE = ROOT / "src" / "caredesk"
LAYERS = ("domain/", "services/", "adapters/", "web/", "cli/")


def named_paths(text: str) -> list[str]:
    section = text.split("### Each feature in each layer", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]
    return [p for row in rows for p in re.findall(r"`([^`]+)`", row) if p.startswith(LAYERS)]


def test_the_map_names_files_in_every_layer() -> None:
    paths = named_paths(DOC.read_text())
    assert len(paths) > 50
    assert {p.split("/")[0] for p in paths} == {"domain", "services", "adapters", "web", "cli"}


@pytest.mark.parametrize("path", named_paths(DOC.read_text()))
def test_each_file_the_map_names_exists(path: str) -> None:
    assert (PACKAGE / path).exists(), f"docs/architecture.md names {path}, which is not there"


def test_the_check_sees_a_file_that_is_not_there() -> None:
    doc = "### Each feature in each layer\n\n| a | b |\n|---|---|\n| x | `domain/gone.py` |\n"
    [path] = named_paths(doc)
    assert not (PACKAGE / path).exists()
