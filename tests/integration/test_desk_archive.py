"""`caredesk export desk` and `caredesk import caredesk`: the whole desk as one archive, read
back into an empty database of the other backend with the same contents, and every bad
archive or target refused before anything is written."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import Engine, func, insert, inspect, select
from typer.testing import CliRunner

from caredesk.adapters.db.archive_format import FORMAT_VERSION, LEFT_OUT, MANIFEST, archived_tables
from caredesk.adapters.db.models import AuditEventRow, Base, BlobRow, LedgerEntryRow
from caredesk.bootstrap import Container, bootstrap, export_desk, import_desk, upgrade_database
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.settings import Settings
from tests.conftest import BACKENDS, CHEAP_HASHER, new_database, tables_with_rows
from tests.integration.demo_export import fingerprint
from tests.integration.demo_store import load_demo_store

ADMIN = {"admin_email": "admin@caredesk.example", "admin_password": "demo-password-1"}
# Bytes no text encoding would carry through unchanged: a stored file must come back as is.
ODD_BYTES = bytes(range(256)) * 3


@pytest.fixture
def target_of(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], Container]]:
    """A desk on a new, unmigrated database of the given backend, dropped after the test."""
    opened: list[tuple[Iterator[str], Container]] = []

    def make(backend: str) -> Container:
        databases = new_database(backend, tmp_path_factory)
        url = next(databases)
        desk = bootstrap(settings.model_copy(update={"database_url": url}), hasher=CHEAP_HASHER)
        opened.append((databases, desk))
        return desk

    yield make
    for databases, desk in opened:
        desk.close()
        next(databases, None)


def _other_backend(container: Container) -> str:
    """PostgreSQL for a SQLite desk and the other way round; SQLite when only it is at hand."""
    mine = container.engine.dialect.name
    return next((b for b in BACKENDS if b != mine), "sqlite")


def _store(container: Container) -> None:
    load_demo_store(container, seed=7, customers=12, **ADMIN)
    with container.engine.begin() as conn:
        conn.execute(
            insert(BlobRow),
            {"sha256": hashlib.sha256(ODD_BYTES).hexdigest(), "size": 768, "content": ODD_BYTES},
        )


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:*") as tar:
        names = tar.getnames()
        assert names[0] == MANIFEST
        members = {}
        for name in names:
            source = tar.extractfile(name)
            assert source is not None
            members[name] = source.read()
        return members


def _manifest(path: Path) -> dict[str, object]:
    document: dict[str, object] = json.loads(_members(path)[MANIFEST])
    return document


def _rewrite(source: Path, target: Path, change: Callable[[str, bytes], bytes]) -> Path:
    """A copy of an archive with some members' bytes changed and nothing else."""
    with tarfile.open(target, "w") as out:
        for name, data in _members(source).items():
            data = change(name, data)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    return target


def _nothing_written(desk: Container) -> None:
    assert inspect(desk.engine).get_table_names() == []


def test_an_export_is_every_table_but_the_left_out_parents_first_with_rows_and_checksums(
    container: Container, tmp_path: Path
) -> None:
    _store(container)
    path = tmp_path / "desk.tar"

    manifest = export_desk(container, path)

    members = _members(path)
    document = _manifest(path)
    assert document["format_version"] == FORMAT_VERSION
    assert document["source_backend"] == container.engine.dialect.name
    assert document["migration_head"] == manifest.migration_head
    listed = document["members"]
    assert isinstance(listed, list)
    assert list(members)[1:] == [m["name"] for m in listed]
    schema = {t.name for t in Base.metadata.sorted_tables}
    assert {m["table"] for m in listed} == schema - set(LEFT_OUT)
    order = [m["table"] for m in listed]
    for table in Base.metadata.sorted_tables:
        for key in table.foreign_keys:
            if table.name in order and key.column.table is not table:
                assert order.index(key.column.table.name) < order.index(table.name)
    with container.engine.connect() as conn:
        for entry in listed:
            data = members[entry["name"]]
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
            assert len(data) == entry["bytes"]
            table = Base.metadata.tables[entry["table"]]
            rows = conn.execute(select(func.count()).select_from(table)).scalar_one()
            assert data.count(b"\n") == entry["rows"] == rows
            ids = [json.loads(line)["id"] for line in data.splitlines()] if "id" in table.c else []
            assert ids == sorted(ids)
    blob = json.loads(members["blobs.jsonl"].splitlines()[0])
    assert blob["content"] != "" and blob["size"] == 768
    ledger = json.loads(members["ledger_entries.jsonl"].splitlines()[0])
    assert isinstance(ledger["amount"], str)
    assert datetime.fromisoformat(ledger["created_at"]).utcoffset() is not None


def test_a_desk_restored_on_the_other_backend_has_the_same_contents_and_exports_the_same(
    container: Container, target_of: Callable[[str], Container], tmp_path: Path
) -> None:
    _store(container)
    first = tmp_path / "first.tar.gz"
    export_desk(container, first)
    restored = target_of(_other_backend(container))

    manifest = import_desk(restored, first)

    assert manifest.rows_of("cases") > 0
    assert fingerprint(restored) == fingerprint(container)
    with restored.engine.connect() as conn:
        content = conn.execute(select(BlobRow.content)).scalar_one()
        amounts = conn.execute(select(LedgerEntryRow.amount)).scalars().all()
    assert content == ODD_BYTES
    assert amounts and all(isinstance(a, Decimal) for a in amounts)
    second = tmp_path / "second.tar"
    export_desk(restored, second)
    before, after = _members(first), _members(second)
    assert {n: d for n, d in before.items() if n != MANIFEST} == {
        n: d for n, d in after.items() if n != MANIFEST
    }
    assert _manifest(first)["members"] == _manifest(second)["members"]


def test_a_restored_desk_numbers_new_records_after_the_archived_ones(
    container: Container, target_of: Callable[[str], Container], tmp_path: Path
) -> None:
    _store(container)
    path = tmp_path / "desk.tar"
    export_desk(container, path)
    restored = target_of(_other_backend(container))
    import_desk(restored, path)
    with restored.engine.begin() as conn:
        highest = conn.execute(select(func.max(AuditEventRow.id))).scalar_one()
        new_id = conn.execute(
            insert(AuditEventRow).returning(AuditEventRow.id),
            {
                "at": datetime(2026, 3, 3, tzinfo=UTC),
                "actor": "system",
                "action": "test.after_restore",
                "entity_type": "desk",
                "entity_id": "1",
            },
        ).scalar_one()
    assert new_id == highest + 1


def test_an_archive_with_a_member_changed_is_refused_before_anything_is_written(
    container: Container, target_of: Callable[[str], Container], tmp_path: Path
) -> None:
    _store(container)
    path = export_and(container, tmp_path)
    bad = _rewrite(
        path,
        tmp_path / "bad.tar",
        lambda name, data: (
            data.replace(b"Graham", b"Grahan") if name == "customers.jsonl" else data
        ),
    )
    target = target_of(_other_backend(container))

    with pytest.raises(DomainError) as refused:
        import_desk(target, bad)

    assert refused.value.code is ErrorCode.ARCHIVE_CHECKSUM
    assert "customers.jsonl" in refused.value.message
    _nothing_written(target)


def test_an_archive_of_a_newer_format_is_refused_before_anything_is_written(
    container: Container, target_of: Callable[[str], Container], tmp_path: Path
) -> None:
    _store(container)
    path = export_and(container, tmp_path)

    def newer(name: str, data: bytes) -> bytes:
        if name != MANIFEST:
            return data
        document = json.loads(data)
        document["format_version"] = FORMAT_VERSION + 1
        return json.dumps(document).encode()

    target = target_of(_other_backend(container))
    with pytest.raises(DomainError) as refused:
        import_desk(target, _rewrite(path, tmp_path / "newer.tar", newer))

    assert refused.value.code is ErrorCode.ARCHIVE_VERSION
    _nothing_written(target)


def test_an_archive_whose_rows_the_database_refuses_leaves_the_target_empty(
    container: Container, target_of: Callable[[str], Container], tmp_path: Path
) -> None:
    """A row that passes its checksum but not the schema (an archive edited and re-hashed):
    the load is one transaction, so nothing of it stays."""
    _store(container)
    path = export_and(container, tmp_path)
    members = _members(path)
    # Every message points at case 999999, which no archived case is.
    broken = b"".join(
        json.dumps({**json.loads(line), "case_id": 999999}).encode() + b"\n"
        for line in members["messages.jsonl"].splitlines()
    )
    document = json.loads(members[MANIFEST])
    for entry in document["members"]:
        if entry["name"] == "messages.jsonl":
            entry["sha256"] = hashlib.sha256(broken).hexdigest()
            entry["bytes"] = len(broken)
    patched = {MANIFEST: json.dumps(document).encode(), "messages.jsonl": broken}
    bad = _rewrite(path, tmp_path / "rehashed.tar", lambda n, d: patched.get(n, d))
    target = target_of(_other_backend(container))

    with pytest.raises(DomainError) as refused:
        import_desk(target, bad)

    assert refused.value.code is ErrorCode.ARCHIVE_INVALID
    with target.engine.connect() as conn:
        assert tables_with_rows(conn) == set()
    # The target is migrated and empty: the same import of a good archive now succeeds.
    import_desk(target, path)
    assert fingerprint(target) == fingerprint(container)


def test_a_target_that_holds_rows_is_refused_and_keeps_them(
    container: Container, tmp_path: Path
) -> None:
    _store(container)
    path = export_and(container, tmp_path)
    before = fingerprint(container)

    with pytest.raises(DomainError) as refused:
        import_desk(container, path)

    assert refused.value.code is ErrorCode.TARGET_NOT_EMPTY
    assert "customers" in refused.value.details["tables"]
    assert fingerprint(container) == before


def export_and(container: Container, tmp_path: Path) -> Path:
    path = tmp_path / "desk.tar"
    export_desk(container, path)
    return path


def _fill_audit(engine: Engine, first: int, end: int, detail_bytes: int) -> None:
    detail = {"note": "x" * detail_bytes}
    at = datetime(2026, 3, 2, tzinfo=UTC)
    with engine.begin() as conn:
        for start in range(first, end, 500):
            conn.execute(
                insert(AuditEventRow),
                [
                    {
                        "at": at,
                        "actor": "system",
                        "action": "test.filler",
                        "entity_type": "desk",
                        "entity_id": str(n),
                        "after": detail,
                    }
                    for n in range(start, min(start + 500, end))
                ],
            )


def _peak(work: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_export_and_import_memory_does_not_grow_with_the_desk(
    container: Container, target_of: Callable[[str], Container], tmp_path: Path
) -> None:
    """An archive four times larger is written and read in about the memory of a small one:
    a batch of rows at a time, never a table (3,000 and then 12,000 audit events of 1 kB;
    below two batches of 1,000 rows the peak is still rising to its plateau)."""
    small, large = tmp_path / "small.tar", tmp_path / "large.tar"
    _fill_audit(container.engine, 0, 3000, 1000)
    small_export = _peak(lambda: export_desk(container, small))
    _fill_audit(container.engine, 3000, 12000, 1000)
    large_export = _peak(lambda: export_desk(container, large))
    targets = [target_of(_other_backend(container)) for _ in range(2)]
    for target in targets:
        # Migrated before, so that what is traced is the load, not Alembic reading its scripts.
        upgrade_database(target)
    small_import = _peak(lambda: import_desk(targets[0], small))
    large_import = _peak(lambda: import_desk(targets[1], large))

    assert large.stat().st_size > 3.5 * small.stat().st_size > 3_000_000
    assert large_export < 1.25 * small_export
    assert large_import < 1.25 * small_import
    with targets[1].engine.connect() as conn:
        count = select(func.count()).select_from(AuditEventRow)
        assert conn.execute(count).scalar_one() == 12000


def test_archived_tables_follow_the_schema_and_leave_out_only_named_tables() -> None:
    names = [p.name for p in archived_tables()]
    assert set(LEFT_OUT) <= set(Base.metadata.tables)
    assert names == [t.name for t in Base.metadata.sorted_tables if t.name not in LEFT_OUT]


def _cli(*args: str) -> Result:
    from caredesk.cli.main import app

    return CliRunner().invoke(app, list(args))


def test_the_commands_export_restore_and_refuse_a_non_empty_target(
    container: Container,
    target_of: Callable[[str], Container],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _store(container)
    path = tmp_path / "desk.tar.gz"
    monkeypatch.setenv("CAREDESK_SEMANTIC_SEARCH", "false")
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)

    exported = _cli("export", "desk", str(path))
    refused = _cli("import", "caredesk", str(path))
    target = target_of(_other_backend(container))
    monkeypatch.setenv("CAREDESK_DATABASE_URL", target.settings.database_url)
    restored = _cli("import", "caredesk", str(path))

    assert exported.exit_code == 0, exported.output
    assert "cases" in exported.output
    assert refused.exit_code == 1
    assert "target_not_empty" in refused.output
    assert restored.exit_code == 0, restored.output
    assert fingerprint(target) == fingerprint(container)


def test_an_export_into_a_folder_that_does_not_exist_is_refused_in_a_line(
    container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREDESK_SEMANTIC_SEARCH", "false")
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)

    result = _cli("export", "desk", str(tmp_path / "nowhere" / "desk.tar"))

    assert result.exit_code == 1
    assert "validation_error" in result.output
    assert "no folder" in result.output
