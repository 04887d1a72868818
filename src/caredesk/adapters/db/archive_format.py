"""The desk archive's format: its manifest, the tables it holds and how each column's values
are written on a line (docs/operations.md). archive.py writes and reads archives in it.

Values are written by column type: timestamps as ISO 8601 in UTC, dates as ISO dates, money
(Numeric) as a decimal string, bytes base64, JSON columns as JSON, the rest as JSON has them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Float, LargeBinary, Numeric, Table

from caredesk.adapters.db.models import Base
from caredesk.adapters.db.types import UTCDateTime
from caredesk.domain.errors import DomainError, ErrorCode

FORMAT = "caredesk-desk-archive"
# Raised when a change to the archive's layout means an older desk would misread it; an
# archive of a newer format is refused rather than guessed at.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# Rows a batch reads or inserts: a few hundred kilobytes of a wide table such as messages.
BATCH_ROWS = 1000
# A manifest lists some fifty tables; anything far larger is not one.
MANIFEST_LIMIT = 1 << 20

# Tables an archive leaves out, and why: each holds something a restored desk is better
# without, and the desk starts without it as a new one does.
LEFT_OUT: dict[str, str] = {
    "sessions": "console sign-ins: live credentials; agents sign in again on the restored desk",
    "portal_sessions": "customers' portal sign-ins: live credentials; they sign in again",
    "portal_sign_ins": "sign-in links in flight (minutes long) and the counts that rate them",
    "auth_throttles": "failed sign-in counts of the last minutes, under hashed keys",
    "idempotency_keys": (
        "stored answers to retried requests, kept a day; some quote a secret shown once "
        "(a new API token). A grant's own idempotency key is kept with the grant"
    ),
}

Progress = Callable[[str, int, int], None]


class ArchiveRefused(DomainError):
    """An archive, or a target for it, that the desk will not load: nothing was written."""


def no_progress(_label: str, _done: int, _total: int) -> None:
    return None


# --- values by column type ---------------------------------------------------------------------


def _same(value: Any) -> Any:
    return value


def iso_timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def timestamp(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {value!r}")
    return parsed.astimezone(UTC)


def _iso_date(value: date) -> str:
    return value.isoformat()


def _base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _bytes(value: str) -> bytes:
    return base64.b64decode(value.encode("ascii"), validate=True)


def _decimal_text(value: Decimal) -> str:
    return str(value)


def _decimal(value: str) -> Decimal:
    if not isinstance(value, str):
        raise ValueError(f"money must be a decimal string, not {value!r}")
    return Decimal(value)


def _float(value: float) -> float:
    return float(value)


def _codec(column_type: Any) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """How a column's value is written to a line, and read back."""
    if isinstance(column_type, UTCDateTime):
        return iso_timestamp, timestamp
    if isinstance(column_type, Date):
        return _iso_date, date.fromisoformat
    if isinstance(column_type, LargeBinary):
        return _base64, _bytes
    # Float is a Numeric: asked first, it stays a JSON number.
    if isinstance(column_type, Float):
        return _same, _float
    if isinstance(column_type, Numeric):
        return _decimal_text, _decimal
    return _same, _same


@dataclass(frozen=True, slots=True)
class TablePlan:
    """One archived table: its columns in the schema's order and how each is written."""

    table: Table
    columns: tuple[str, ...]
    encoders: tuple[Callable[[Any], Any], ...]
    decoders: tuple[Callable[[Any], Any], ...]

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def member(self) -> str:
        return f"{self.table.name}.jsonl"

    def line(self, row: Sequence[Any]) -> bytes:
        values = {
            name: None if value is None else encode(value)
            for name, encode, value in zip(self.columns, self.encoders, row, strict=True)
        }
        # ASCII: a text the database holds with a lone surrogate still makes a valid line.
        return json.dumps(values, separators=(",", ":")).encode("ascii") + b"\n"

    def row(self, line: bytes) -> dict[str, Any]:
        values = json.loads(line)
        if not isinstance(values, dict) or set(values) != set(self.columns):
            raise ValueError(f"a row of {self.name} must have exactly its columns")
        return {
            name: None if values[name] is None else decode(values[name])
            for name, decode in zip(self.columns, self.decoders, strict=True)
        }


def archived_tables() -> list[TablePlan]:
    """Every table of the schema but those LEFT_OUT, parents before children."""
    plans = []
    for table in Base.metadata.sorted_tables:
        if table.name in LEFT_OUT:
            continue
        codecs = [_codec(column.type) for column in table.columns]
        plans.append(
            TablePlan(
                table=table,
                columns=tuple(column.name for column in table.columns),
                encoders=tuple(encode for encode, _ in codecs),
                decoders=tuple(decode for _, decode in codecs),
            )
        )
    return plans


# --- the manifest ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Member:
    table: str
    columns: tuple[str, ...]
    rows: int
    bytes: int
    sha256: str

    @property
    def name(self) -> str:
        return f"{self.table}.jsonl"


@dataclass(frozen=True, slots=True)
class Manifest:
    format_version: int
    desk_version: str
    migration_head: str
    created_at: datetime
    source_backend: str
    members: tuple[Member, ...]
    left_out: tuple[str, ...]

    @property
    def rows(self) -> int:
        return sum(m.rows for m in self.members)

    def rows_of(self, table: str) -> int:
        return next((m.rows for m in self.members if m.table == table), 0)

    def to_json(self) -> bytes:
        document = {
            "format": FORMAT,
            "format_version": self.format_version,
            "desk_version": self.desk_version,
            "migration_head": self.migration_head,
            "created_at": iso_timestamp(self.created_at),
            "source_backend": self.source_backend,
            "members": [
                {
                    "name": m.name,
                    "table": m.table,
                    "columns": list(m.columns),
                    "rows": m.rows,
                    "bytes": m.bytes,
                    "sha256": m.sha256,
                }
                for m in self.members
            ],
            "left_out": list(self.left_out),
        }
        return json.dumps(document, indent=2).encode("utf-8") + b"\n"

    @classmethod
    def parse(cls, data: bytes) -> Manifest:
        """The manifest, or the refusal that says what is wrong with it."""
        try:
            document = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise invalid(f"manifest.json is not JSON: {exc}") from exc
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise invalid(f"manifest.json does not describe a {FORMAT}")
        version = document.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise invalid("manifest.json has no valid format_version")
        if version > FORMAT_VERSION:
            raise ArchiveRefused(
                f"the archive is in format version {version}, written by a newer caredesk "
                f"({document.get('desk_version')}); this one reads version {FORMAT_VERSION}: "
                "import it with a caredesk at least as new as the one that wrote it",
                code=ErrorCode.ARCHIVE_VERSION,
                details={"format_version": version, "readable": FORMAT_VERSION},
            )
        try:
            return cls(
                format_version=version,
                desk_version=str(document["desk_version"]),
                migration_head=str(document["migration_head"]),
                created_at=timestamp(document["created_at"]),
                source_backend=str(document["source_backend"]),
                members=tuple(
                    Member(
                        table=str(m["table"]),
                        columns=tuple(str(c) for c in m["columns"]),
                        rows=_count(m["rows"]),
                        bytes=_count(m["bytes"]),
                        sha256=str(m["sha256"]),
                    )
                    for m in document["members"]
                ),
                left_out=tuple(str(t) for t in document.get("left_out", [])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise invalid(f"manifest.json is incomplete: {exc!r}") from exc


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"not a count: {value!r}")
    return value


def invalid(message: str) -> ArchiveRefused:
    return ArchiveRefused(message, code=ErrorCode.ARCHIVE_INVALID)
