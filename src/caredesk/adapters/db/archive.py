"""The whole desk as one versioned archive (`caredesk export desk`, `caredesk import caredesk`).

An archive is a tar (gzipped when its name ends in .tar.gz or .tgz) of JSON Lines, one member
per table (`<table>.jsonl`, one row a line, in primary-key order), parents before children,
after a first member `manifest.json` that names the format and its version, the desk's version,
the schema's migration head, when and from which backend it was written, and each member's
columns, rows, bytes and SHA-256.

Both directions stream. An export reads every table on one snapshot, in batches (a server-side
cursor on PostgreSQL) and writes each member to a temporary file while hashing it, then copies
the files into the tar after the manifest; memory stays flat whatever the desk's size, and the
disk holds the members twice until the archive is complete. An import reads the manifest, looks
at the target, and reads every member once to check its checksum before it writes anything;
then it migrates the empty target to the archive's head and loads every table in one
transaction, in batches, so a load that fails leaves the target migrated and empty.

The format itself (the manifest, the tables, the values) is archive_format.py's.
"""

from __future__ import annotations

import binascii
import hashlib
import io
import os
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import InvalidOperation
from pathlib import Path
from typing import IO, Any

from alembic.util import CommandError
from sqlalchemy import Connection, Engine, func, inspect, select, text
from sqlalchemy.exc import DBAPIError

from caredesk.adapters.db.archive_format import (
    BATCH_ROWS,
    FORMAT_VERSION,
    LEFT_OUT,
    MANIFEST,
    MANIFEST_LIMIT,
    ArchiveRefused,
    Manifest,
    Member,
    Progress,
    TablePlan,
    archived_tables,
    invalid,
    no_progress,
)
from caredesk.adapters.db.engine import READ_ONLY_OPTION
from caredesk.adapters.db.migrate import script_heads, upgrade
from caredesk.adapters.db.models import Base
from caredesk.domain.errors import DomainError, ErrorCode

# What a checksum reads at a time.
_CHUNK = 1 << 20


# --- export ------------------------------------------------------------------------------------


def schema_head(engine: Engine) -> str:
    """The migration head of this desk's schema, which the database must stand at."""
    from caredesk.adapters.db.migrate import current_heads

    (head,) = script_heads(engine)
    if current_heads(engine) != (head,):
        raise ArchiveRefused(
            f"the database is not at this desk's schema ({head}): run `caredesk db upgrade` first",
            code=ErrorCode.ARCHIVE_SCHEMA,
        )
    return head


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One read transaction for every table, so the archive is one moment of the desk."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        else:
            conn.execution_options(**{READ_ONLY_OPTION: True})
        with conn.begin():
            yield conn


def table_batches(conn: Connection, plan: TablePlan, batch_rows: int) -> Iterator[Sequence[Any]]:
    """A table's rows in primary-key order, `batch_rows` at a time, never the whole table."""
    query = (
        select(*(plan.table.c[name] for name in plan.columns))
        .order_by(*plan.table.primary_key.columns)
        .execution_options(yield_per=batch_rows)
    )
    result = conn.execute(query)
    try:
        yield from result.partitions()
    finally:
        result.close()


def _write_member(
    conn: Connection, plan: TablePlan, target: IO[bytes], batch_rows: int, progress: Progress
) -> Member:
    total = conn.execute(select(func.count()).select_from(plan.table)).scalar_one()
    digest = hashlib.sha256()
    rows = size = 0
    progress(plan.name, 0, total)
    for batch in table_batches(conn, plan, batch_rows):
        chunk = b"".join(plan.line(row) for row in batch)
        digest.update(chunk)
        target.write(chunk)
        rows += len(batch)
        size += len(chunk)
        progress(plan.name, rows, total)
    return Member(plan.name, plan.columns, rows, size, digest.hexdigest())


def _compressed(path: Path) -> bool:
    return path.name.endswith((".tar.gz", ".tgz"))


def _tar_info(name: str, size: int, mtime: datetime) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(mtime.timestamp())
    info.mode = 0o600
    return info


def export_archive(
    engine: Engine,
    path: Path,
    *,
    desk_version: str,
    now: datetime,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Manifest:
    """Write the whole desk to `path`; the file appears only once complete."""
    progress = progress or no_progress
    if not path.resolve().parent.is_dir():
        raise DomainError(f"there is no folder {path.parent} to write {path.name} in")
    head = schema_head(engine)
    plans = archived_tables()
    path = path.resolve()
    # Beside the archive, not in /tmp: the members are as large as the archive.
    with tempfile.TemporaryDirectory(prefix=".caredesk-export-", dir=path.parent) as work:
        members = []
        with _snapshot(engine) as conn:
            for plan in plans:
                with (Path(work) / plan.member).open("wb") as target:
                    members.append(_write_member(conn, plan, target, batch_rows, progress))
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            desk_version=desk_version,
            migration_head=head,
            created_at=now,
            source_backend=engine.dialect.name,
            members=tuple(members),
            left_out=tuple(LEFT_OUT),
        )
        partial = path.with_name(f".{path.name}.partial")
        # The archive holds password hashes and webhook secrets: its owner's eyes only.
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with (
                os.fdopen(descriptor, "wb") as raw,
                tarfile.open(fileobj=raw, mode="w:gz" if _compressed(path) else "w") as tar,
            ):
                document = manifest.to_json()
                tar.addfile(_tar_info(MANIFEST, len(document), now), io.BytesIO(document))
                for member in members:
                    with (Path(work) / member.name).open("rb") as source:
                        tar.addfile(_tar_info(member.name, member.bytes, now), source)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
    return manifest


# --- import ------------------------------------------------------------------------------------


@contextmanager
def _open_archive(path: Path) -> Iterator[tuple[tarfile.TarFile, Manifest]]:
    """The archive read front to back (gzipped or not) and its manifest, its first member."""
    try:
        # Closed by the `with` below; opened apart so that only its own failure is refused here.
        tar = tarfile.open(path, mode="r|*")  # noqa: SIM115
    except (OSError, tarfile.TarError) as exc:
        raise invalid(f"{path.name} is not a tar archive: {exc}") from exc
    with tar:
        try:
            first = tar.next()
        except tarfile.TarError as exc:
            raise invalid(f"{path.name} is not a tar archive: {exc}") from exc
        if first is None or first.name != MANIFEST or not first.isfile():
            raise invalid(f"{path.name} does not begin with {MANIFEST}: not a desk archive")
        if first.size > MANIFEST_LIMIT:
            raise invalid(f"{MANIFEST} is {first.size} bytes: not a desk archive's manifest")
        source = tar.extractfile(first)
        assert source is not None
        yield tar, Manifest.parse(source.read())


def _members(tar: tarfile.TarFile, manifest: Manifest) -> Iterator[tuple[Member, IO[bytes]]]:
    """Each member the manifest names, in its order, as the tar holds it; anything else in the
    tar, missing or in another place, is refused."""
    expected = iter(manifest.members)
    try:
        # next(), not iteration: iterating a tar starts again at its first member.
        while (info := tar.next()) is not None:
            member = next(expected, None)
            if member is None or info.name != member.name or not info.isfile():
                raise invalid(f"{info.name} is not where the manifest says it is")
            source = tar.extractfile(info)
            assert source is not None
            yield member, source
    except tarfile.TarError as exc:
        raise invalid(f"the archive is damaged: {exc}") from exc
    missing = next(expected, None)
    if missing is not None:
        raise invalid(f"the archive ends before {missing.name}")


def _check_compatible(manifest: Manifest, plans: list[TablePlan], head: str) -> None:
    if manifest.migration_head != head:
        raise ArchiveRefused(
            f"the archive's schema is at {manifest.migration_head} and this desk's at {head}: "
            "import it with the caredesk version that wrote it "
            f"({manifest.desk_version}), then run `caredesk db upgrade`",
            code=ErrorCode.ARCHIVE_SCHEMA,
            details={"archive": manifest.migration_head, "desk": head},
        )
    ours = [(p.name, p.columns) for p in plans]
    theirs = [(m.table, m.columns) for m in manifest.members]
    if ours != theirs:
        raise ArchiveRefused(
            "the archive's tables or columns are not this desk's schema",
            code=ErrorCode.ARCHIVE_SCHEMA,
        )


def _tables_with_rows(engine: Engine) -> list[str]:
    present = set(inspect(engine).get_table_names())
    tables = [t for t in Base.metadata.sorted_tables if t.name in present]
    with engine.connect() as conn:
        return [t.name for t in tables if conn.execute(select(1).select_from(t).limit(1)).first()]


def check_target_empty(engine: Engine) -> None:
    full = _tables_with_rows(engine)
    if full:
        shown = ", ".join(full[:5]) + (f" and {len(full) - 5} more" if len(full) > 5 else "")
        raise ArchiveRefused(
            f"the target database is not empty ({shown} hold rows): an archive is restored "
            "into an empty database only",
            code=ErrorCode.TARGET_NOT_EMPTY,
            details={"tables": full},
        )


def verify_archive(path: Path, progress: Progress | None = None) -> Manifest:
    """Read every member once and check it against the manifest: rows, bytes and SHA-256."""
    progress = progress or no_progress
    with _open_archive(path) as (tar, manifest):
        for member, source in _members(tar, manifest):
            digest = hashlib.sha256()
            rows = size = 0
            label = f"checking {member.table}"
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                rows += chunk.count(b"\n")
                size += len(chunk)
                progress(label, min(size, member.bytes), member.bytes)
            if (rows, size, digest.hexdigest()) != (member.rows, member.bytes, member.sha256):
                raise ArchiveRefused(
                    f"{member.name} does not match its checksum in the manifest: the archive "
                    "is damaged or was changed",
                    code=ErrorCode.ARCHIVE_CHECKSUM,
                    details={"member": member.name},
                )
    return manifest


def _batches(plan: TablePlan, source: IO[bytes], batch_rows: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for number, line in enumerate(source, start=1):
        try:
            batch.append(plan.row(line))
        except (ValueError, TypeError, KeyError, InvalidOperation, binascii.Error) as exc:
            raise invalid(f"{plan.member} line {number}: {exc}") from exc
        if len(batch) == batch_rows:
            yield batch
            batch = []
    if batch:
        yield batch


# Every sequence owned by a column of the schema (serial and identity ids, customer numbers).
_OWNED_SEQUENCES = text(
    "SELECT s.oid::regclass::text, t.relname, a.attname FROM pg_class s "
    "JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass "
    "AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') "
    "JOIN pg_class t ON t.oid = d.refobjid "
    "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
    "WHERE s.relkind = 'S' AND pg_table_is_visible(t.oid)"
)


def _restart_sequences(conn: Connection) -> None:
    """Each sequence draws next the number after the highest its column holds."""
    known = {t.name: t for t in Base.metadata.sorted_tables}
    for sequence, table_name, column_name in conn.execute(_OWNED_SEQUENCES).all():
        table = known.get(table_name)
        if table is None or column_name not in table.c:
            continue
        highest = conn.execute(select(func.max(table.c[column_name]))).scalar_one()
        conn.execute(
            text("SELECT setval(:sequence, :next, false)"),
            {"sequence": sequence, "next": (highest or 0) + 1},
        )


def import_archive(
    engine: Engine,
    path: Path,
    *,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Manifest:
    """Load an archive into an empty database; every refusal comes before the first write."""
    progress = progress or no_progress
    plans = archived_tables()
    (head,) = script_heads(engine)
    with _open_archive(path) as (_, manifest):
        _check_compatible(manifest, plans, head)
    check_target_empty(engine)
    verify_archive(path, progress)
    try:
        upgrade(engine, head)
    except CommandError as exc:
        raise ArchiveRefused(
            f"the target database's schema is unknown to this desk: {exc}",
            code=ErrorCode.ARCHIVE_SCHEMA,
        ) from exc
    by_name = {p.name: p for p in plans}
    try:
        with engine.begin() as conn, _open_archive(path) as (tar, _):
            if engine.dialect.name == "sqlite":
                # A grant's reversal comes after the grant in id order; should a row ever point
                # at a later one of its own table, SQLite checks the key at the commit.
                conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
            for member, source in _members(tar, manifest):
                plan = by_name[member.table]
                done = 0
                progress(f"loading {plan.name}", 0, member.rows)
                for batch in _batches(plan, source, batch_rows):
                    conn.execute(plan.table.insert(), batch)
                    done += len(batch)
                    progress(f"loading {plan.name}", done, member.rows)
            if engine.dialect.name == "postgresql":
                _restart_sequences(conn)
    except DBAPIError as exc:
        raise invalid(f"the database refused a row: {exc.orig}") from exc
    if engine.dialect.name == "postgresql":
        # Fresh planner statistics: without them the first queries on a large desk guess.
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return manifest
