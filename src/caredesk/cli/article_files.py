"""Knowledge articles as files: Markdown with YAML front matter, or one JSON object a line.

A Markdown file looks like

    ---
    title: Label printer stops printing after the OS upgrade
    slug: label-printer-os-upgrade
    tags: [printer, known-issue]
    products: [lp-200]
    visibility: public
    internal_notes: |
      What the desk does about it, for agents only: never shown to customers.
    ---
    The body, in Markdown.

Without a `title`, the first `# heading` is the title. Reading collects every problem
(file and line) before anything is imported, so one bad file is named rather than half a
folder being loaded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from caredesk.domain.knowledge import Article
from caredesk.services.knowledge.knowledge import ArticleRecord

FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
HEADING = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
SUFFIXES = (".md", ".markdown")
FIELDS = {
    "title",
    "slug",
    "kind",
    "tags",
    "products",
    "product_ids",
    "locale",
    "visibility",
    "status",
    "id",
    "body",
    "content",
    "text",
    "internal_notes",
    # Written by `caredesk kb export`; informative only, so reading them back is fine.
    "version",
    "updated_at",
}


class ArticleFilesInvalid(ValueError):
    """One or more files cannot be read as articles; `problems` says where and why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _strings(value: Any, where: str, name: str, problems: list[str]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return [str(v) for v in value]
    problems.append(f"{where}: {name} must be a list of strings")
    return []


def _record(fields: dict[str, Any], body: str, where: str, problems: list[str]) -> ArticleRecord:
    unknown = sorted(set(fields) - FIELDS)
    if unknown:
        problems.append(f"{where}: unknown fields {', '.join(unknown)}")
    scalars: dict[str, str] = {}
    for name in ("title", "slug", "kind", "locale", "visibility", "status", "id"):
        value = fields.get(name)
        if value is None:
            continue
        if not isinstance(value, str | int) or isinstance(value, bool):
            problems.append(f"{where}: {name} must be text")
            continue
        scalars[name] = str(value).strip()
    title = scalars.get("title", "")
    if not title:
        problems.append(f"{where}: no title (give `title:` or start the body with `# Title`)")
    products = fields.get("product_ids", fields.get("products"))
    internal_notes = fields.get("internal_notes") or ""
    if not isinstance(internal_notes, str):
        problems.append(f"{where}: internal_notes must be text")
        internal_notes = ""
    return ArticleRecord(
        title=title,
        body=body,
        source=where,
        internal_notes=internal_notes,
        slug=scalars.get("slug") or None,
        kind=scalars.get("kind", "article"),
        tags=_strings(fields.get("tags"), where, "tags", problems),
        product_ids=_strings(products, where, "products", problems),
        locale=scalars.get("locale", "en"),
        visibility=scalars.get("visibility", "internal"),
        status=scalars.get("status", "published"),
        external_id=scalars.get("id"),
    )


def parse_markdown(text: str, where: str, problems: list[str]) -> ArticleRecord:
    fields: dict[str, Any] = {}
    body = text
    match = FRONT_MATTER.match(text)
    if match:
        body = text[match.end() :]
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 2}" if mark is not None else ""
            problems.append(f"{where}{line}: the front matter is not valid YAML")
            loaded = {}
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            problems.append(f"{where}: the front matter must be a mapping of fields")
            loaded = {}
        fields = {str(k): v for k, v in loaded.items()}
    elif text.startswith("---"):
        problems.append(f"{where}: the front matter has no closing --- line")
    if not fields.get("title"):
        heading = HEADING.search(body)
        if heading:
            fields["title"] = heading.group(1)
            body = body[: heading.start()] + body[heading.end() :]
    return _record(fields, body.strip("\r\n"), where, problems)


def read_markdown_dir(directory: Path) -> list[ArticleRecord]:
    """Every `.md` file under `directory`, sorted by path; raises ArticleFilesInvalid."""
    if not directory.is_dir():
        raise ArticleFilesInvalid([f"{directory} is not a folder"])
    paths = sorted(p for p in directory.rglob("*") if p.suffix.lower() in SUFFIXES)
    if not paths:
        raise ArticleFilesInvalid([f"{directory} holds no Markdown (.md) files"])
    problems: list[str] = []
    records = []
    for path in paths:
        where = str(path.relative_to(directory))
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{where}: cannot be read as UTF-8 text ({exc})")
            continue
        records.append(parse_markdown(text, where, problems))
    if problems:
        raise ArticleFilesInvalid(problems)
    return records


def read_jsonl(path: Path) -> list[ArticleRecord]:
    """One `{title, body|content|text, ...}` object a line; raises ArticleFilesInvalid."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ArticleFilesInvalid([f"{path}: cannot be read as UTF-8 text ({exc})"]) from exc
    problems: list[str] = []
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: not valid JSON ({exc.msg})")
            continue
        if not isinstance(value, dict):
            problems.append(f"{where}: each line must be one JSON object")
            continue
        body = next((value[k] for k in ("body", "content", "text") if k in value), None)
        if not isinstance(body, str):
            problems.append(f"{where}: needs the article text in body, content or text")
            continue
        records.append(_record(value, body, where, problems))
    if not records and not problems:
        problems.append(f"{path} holds no articles")
    if problems:
        raise ArticleFilesInvalid(problems)
    return records


def read_path(path: Path) -> list[ArticleRecord]:
    """A folder of Markdown files, a `.jsonl` file, or one Markdown file."""
    if path.is_dir():
        return read_markdown_dir(path)
    if not path.exists():
        raise ArticleFilesInvalid([f"{path} does not exist"])
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return read_jsonl(path)
    if path.suffix.lower() in SUFFIXES:
        problems: list[str] = []
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ArticleFilesInvalid([f"{path}: cannot be read as UTF-8 text ({exc})"]) from exc
        record = parse_markdown(text, path.name, problems)
        if problems:
            raise ArticleFilesInvalid(problems)
        return [record]
    raise ArticleFilesInvalid(
        [f"{path}: expected a folder of .md files or a .jsonl file, not {path.suffix or 'this'}"]
    )


def _fields(article: Article) -> dict[str, Any]:
    return {
        "id": article.id,
        "slug": article.slug,
        "kind": article.kind.value,
        "title": article.title,
        "tags": list(article.tags),
        "product_ids": list(article.product_ids),
        "locale": article.locale,
        "visibility": article.visibility.value,
        "status": article.status.value,
        "internal_notes": article.internal_notes,
        "version": article.version,
        "updated_at": article.updated_at.isoformat(),
    }


def write_jsonl(path: Path, articles: Iterable[Article]) -> int:
    """One object a line, `body` in Markdown; `caredesk kb import` reads it back by slug."""
    count = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for article in articles:
            handle.write(json.dumps({**_fields(article), "body": article.body}) + "\n")
            count += 1
    return count


def write_markdown(directory: Path, articles: Iterable[Article]) -> int:
    """One `<slug>.md` file per article with its fields as front matter."""
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    for article in articles:
        fields = _fields(article)
        # The slug is the article's identity on import; the database id is not portable.
        fields.pop("id")
        fields.pop("version")
        fields.pop("updated_at")
        if not article.internal_notes:
            fields.pop("internal_notes")
        head = yaml.safe_dump(fields, sort_keys=False, allow_unicode=True)
        text = f"---\n{head}---\n{article.body.rstrip()}\n"
        (directory / f"{article.slug}.md").write_text(text, encoding="utf-8")
        count += 1
    return count
