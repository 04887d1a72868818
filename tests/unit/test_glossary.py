"""One noun per concept: the words docs/glossary.md retires appear nowhere in `src/`.

The "Retired names" section of the glossary lists the retired words and the few places an
outside format or a published name keeps one (a path, the text that may hold the word, and
why). Every other whole-word use of a retired word, in any case, fails this test with its
file and line. A word counts on its own and as a part of an identifier (`csat`,
`CsatSurvey`, `case_csat`, `MAX_CSAT_COMMENT`); a retired identifier written in CamelCase
(`CasePlan`) counts only whole. The migrations are history and are not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
GLOSSARY = ROOT / "docs" / "glossary.md"
HISTORY = SRC / "caredesk" / "adapters" / "db" / "migrations"
SCANNED = {".py", ".html", ".txt", ".yaml", ".yml", ".md", ".jinja"}
SECTION = "## Retired names"
WORDS_LINE = "Retired words:"
TICKED = re.compile(r"`([^`]+)`")


@dataclass(frozen=True, slots=True)
class Boundary:
    """Where an outside format, a published name or another meaning keeps a retired word."""

    path: str  # a file, or a folder ending in "/", relative to the repository
    texts: tuple[str, ...]  # the text around a retired word that lets it stay

    def covers(self, where: str) -> bool:
        return where == self.path or (self.path.endswith("/") and where.startswith(self.path))


@dataclass(frozen=True, slots=True)
class Retired:
    words: tuple[str, ...]
    boundaries: tuple[Boundary, ...]


def _section(text: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(SECTION) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start:end]


def read_glossary(text: str) -> Retired:
    """The retired words (a paragraph opening with "Retired words:") and the exceptions
    (the rows of the table whose header is `| path | text | why |`)."""
    lines = _section(text)
    opening = next(i for i, line in enumerate(lines) if line.startswith(WORDS_LINE))
    paragraph = []
    for line in lines[opening:]:
        if not line.strip():
            break
        paragraph.append(line)
    words = tuple(TICKED.findall(" ".join(paragraph)))
    boundaries = []
    header = next(i for i, line in enumerate(lines) if line.startswith("| path | text | why |"))
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        path, texts = (cell.strip() for cell in line.strip("|").split("|")[:2])
        boundaries.append(Boundary(TICKED.findall(path)[0], tuple(TICKED.findall(texts))))
    return Retired(words, tuple(boundaries))


def _starts_word(line: str, start: int, inside_identifiers: bool) -> bool:
    # `_` is not alphanumeric, so `case_csat` splits there on its own.
    if start == 0 or not line[start - 1].isalnum():
        return True
    # `caseCsat`: a capital after a small letter or a digit starts a word.
    return inside_identifiers and line[start].isupper() and not line[start - 1].isupper()


def _ends_word(line: str, end: int, inside_identifiers: bool) -> bool:
    if end == len(line) or not line[end].isalnum():
        return True
    # `CsatSurvey`: a capital after a small letter ends the word before it.
    return inside_identifiers and line[end].isupper() and not line[end - 1].isupper()


def hits(line: str, word: str) -> list[tuple[int, int]]:
    """Where `word` stands in `line` as a whole word, in any case. A plain word also counts
    as a part of an identifier (split at `_` and at CamelCase); a CamelCase word does not,
    so `CasePlan` is not found in `CasePlanner`."""
    plain = word.islower() or word.isupper()
    found = []
    for match in re.finditer(re.escape(word), line, re.IGNORECASE):
        start, end = match.span()
        if _starts_word(line, start, plain) and _ends_word(line, end, plain):
            found.append((start, end))
    return found


def _excused(line: str, span: tuple[int, int], texts: list[str]) -> bool:
    lowered = line.lower()
    for text in texts:
        for match in re.finditer(re.escape(text.lower()), lowered):
            if match.start() <= span[0] and span[1] <= match.end():
                return True
    return False


def _scanned_files() -> list[Path]:
    return sorted(
        path
        for path in SRC.rglob("*")
        if path.suffix in SCANNED and path.is_file() and HISTORY not in path.parents
    )


def offences(retired: Retired) -> list[str]:
    found = []
    for path in _scanned_files():
        where = path.relative_to(ROOT).as_posix()
        texts = [t for e in retired.boundaries if e.covers(where) for t in e.texts]
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            words = [
                word
                for word in retired.words
                if any(not _excused(line, span, texts) for span in hits(line, word))
            ]
            if words:
                found.append(f"{where}:{number}: {', '.join(words)}: {line.strip()}")
    return found


@pytest.fixture(scope="module")
def retired() -> Retired:
    return read_glossary(GLOSSARY.read_text(encoding="utf-8"))


def test_the_glossary_retires_words_and_names_its_exceptions(retired: Retired) -> None:
    assert {"shopper", "fulfilment", "csat", "CasePlan", "user"} <= set(retired.words)
    assert retired.boundaries
    assert all(e.texts for e in retired.boundaries)


@pytest.mark.parametrize(
    ("line", "word", "expected"),
    [
        ("class CsatSurvey:", "csat", ["Csat"]),
        ("def case_csat(uow):", "csat", ["csat"]),
        ("MAX_CSAT_COMMENT = 2000", "csat", ["CSAT"]),
        ('"/csat/{secret}"', "csat", ["csat"]),
        ("the shoppers' names", "shopper", []),
        ("the shoppers' names", "shoppers", ["shoppers"]),
        ("FulfilmentRow, fulfilments", "fulfilment", ["Fulfilment"]),
        ("from x import CasePlan", "CasePlan", ["CasePlan"]),
        ("caseplan = 1", "CasePlan", ["caseplan"]),
        ("class CasePlanner: ...", "CasePlan", []),
        ("class WebhookDeliveryOut:", "DeliveryOut", []),
        ("a user_id and a username", "user", ["user"]),
        ("the users' lines", "user", []),
    ],
)
def test_a_retired_word_is_found_whole_or_as_part_of_an_identifier(
    line: str, word: str, expected: list[str]
) -> None:
    assert [line[start:end] for start, end in hits(line, word)] == expected


def test_an_exception_excuses_only_the_word_inside_its_text() -> None:
    line = 'headers = {"User-Agent": "caredesk"}  # the user asked'
    spans = hits(line, "user")
    assert [_excused(line, span, ["User-Agent"]) for span in spans] == [True, False]


def test_every_exception_names_a_path_and_text_that_exist(retired: Retired) -> None:
    """An exception outlives its reason unless it is checked: its path exists and each
    text it allows still appears there."""
    stale = []
    for boundary in retired.boundaries:
        path = ROOT / boundary.path
        files = (
            [p for p in path.rglob("*") if p.suffix in SCANNED and p.is_file()]
            if boundary.path.endswith("/")
            else [path]
        )
        if not all(f.is_file() for f in files) or not files:
            stale.append(f"{boundary.path}: no such file or folder")
            continue
        content = "\n".join(f.read_text(encoding="utf-8").lower() for f in files)
        stale += [
            f"{boundary.path}: `{t}` not found" for t in boundary.texts if t.lower() not in content
        ]
    assert stale == [], "\n".join(stale)


def test_src_uses_no_retired_word_outside_its_exceptions(retired: Retired) -> None:
    found = offences(retired)
    assert found == [], f"{len(found)} uses of retired words:\n" + "\n".join(found)
