"""Reading evaluation sets: JSONL documents and queries, TSV relevance labels, CSV intents.

Every problem is a `ValidationFailed` naming the file and line, so the commands can print
one clear message instead of a traceback.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from caredesk.domain.errors import ValidationFailed
from caredesk.domain.evaluation import EvalDocument, EvalQuery, LabelledText

# Intent CSVs hold short messages, but a stray huge field must not be read whole.
csv.field_size_limit(1_000_000)


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ValidationFailed(f"{path} does not exist") from exc
    except IsADirectoryError as exc:
        raise ValidationFailed(f"{path} is a folder, not a file") from exc
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"{path} is not UTF-8 text: {exc}") from exc
    except OSError as exc:
        raise ValidationFailed(f"cannot read {path}: {exc.strerror or exc}") from exc


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(value, dict):
            raise ValidationFailed(f"{path}:{number}: each line must be one JSON object")
        yield number, value


def _string(path: Path, number: int, value: dict[str, Any], *keys: str) -> str:
    for key in keys:
        found = value.get(key)
        if isinstance(found, str | int) and not isinstance(found, bool):
            return str(found)
    raise ValidationFailed(f"{path}:{number}: needs a string field {' or '.join(keys)!s}")


def read_documents(path: Path) -> list[EvalDocument]:
    """One `{id, title, text|content}` object per line; ids are unique."""
    documents: list[EvalDocument] = []
    seen: set[str] = set()
    for number, value in _json_lines(path):
        doc_id = _string(path, number, value, "id", "_id")
        if doc_id in seen:
            raise ValidationFailed(f"{path}:{number}: document id {doc_id!r} appears twice")
        seen.add(doc_id)
        title = value.get("title")
        documents.append(
            EvalDocument(
                id=doc_id,
                title=title if isinstance(title, str) else "",
                text=_string(path, number, value, "text", "content", "body"),
            )
        )
    if not documents:
        raise ValidationFailed(f"{path} holds no documents")
    return documents


def read_queries(path: Path) -> list[EvalQuery]:
    """One `{id, text}` object per line."""
    queries = [
        EvalQuery(
            id=_string(path, number, value, "id", "_id"),
            text=_string(path, number, value, "text", "query"),
        )
        for number, value in _json_lines(path)
    ]
    if not queries:
        raise ValidationFailed(f"{path} holds no queries")
    return queries


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """Tab-separated query id, doc id, relevance, after one header row."""
    lines = [line for line in _text(path).splitlines() if line.strip()]
    if len(lines) < 2:
        raise ValidationFailed(f"{path} needs a header row and at least one judgement")
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) < 3:
            raise ValidationFailed(
                f"{path}:{number}: expected query id, doc id and relevance separated by tabs"
            )
        query_id, doc_id, grade = fields[0].strip(), fields[1].strip(), fields[-1].strip()
        try:
            relevance = int(float(grade))
        except ValueError as exc:
            raise ValidationFailed(f"{path}:{number}: relevance {grade!r} is not a number") from exc
        qrels.setdefault(query_id, {})[doc_id] = relevance
    return qrels


def read_labelled_csv(path: Path) -> list[LabelledText]:
    """A CSV with a header naming the columns `text` and `category` (in any order)."""
    rows = csv.reader(io.StringIO(_text(path), newline=""))
    header = next(rows, None)
    if header is None:
        raise ValidationFailed(f"{path} is empty: expected a header row text,category")
    names = [h.strip().lower() for h in header]
    missing = [c for c in ("text", "category") if c not in names]
    if missing:
        raise ValidationFailed(
            f"{path}: the header has no column {' or '.join(missing)} "
            f"(found: {', '.join(header) or 'nothing'}); expected text,category"
        )
    text_at, label_at = names.index("text"), names.index("category")
    examples: list[LabelledText] = []
    for row in rows:
        number = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(text_at, label_at):
            raise ValidationFailed(f"{path}:{number}: expected {len(header)} columns")
        text, label = row[text_at].strip(), row[label_at].strip()
        if not text or not label:
            raise ValidationFailed(f"{path}:{number}: the text and the category must not be empty")
        examples.append(LabelledText(text=text, label=label))
    if not examples:
        raise ValidationFailed(f"{path} has a header but no examples")
    return examples
