"""The tau-bench retail format goes in and comes out unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from caredesk.bootstrap import Container
from caredesk.cli.main import app
from caredesk.conformance import tau_format as tau_retail
from caredesk.conformance.tau_files import read_dir, write_dir
from caredesk.domain.errors import DomainError, ErrorCode
from tests.datasets import dataset, needs_dataset

SAMPLE = Path(__file__).parent.parent / "data" / "tau_retail_sample"
FULL = dataset("tau-bench-retail")


def _typed(value: Any) -> Any:
    """JSON equality that also tells 1.0 from 1: the format's value types must survive."""
    if isinstance(value, dict):
        return [(k, _typed(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


def _round_trip(container: Container, source: Path, tmp_path: Path) -> None:
    store = read_dir(source)
    tau_retail.import_store(container.uow, container.clock.now(), store)
    out = tmp_path / "out"
    write_dir(out, tau_retail.export_store(container.uow))
    for name in ("users", "products", "orders"):
        original = json.loads((source / f"{name}.json").read_text())
        exported = json.loads((out / f"{name}.json").read_text())
        assert _typed(exported) == _typed(original), name


def test_sample_round_trips_exactly(container: Container, tmp_path: Path) -> None:
    _round_trip(container, SAMPLE, tmp_path)


@needs_dataset("tau-bench-retail")
def test_whole_dataset_round_trips_exactly(container: Container, tmp_path: Path) -> None:
    _round_trip(container, FULL, tmp_path)


def test_imported_store_is_readable_as_caredesk_data(container: Container) -> None:
    tau_retail.import_store(container.uow, container.clock.now(), read_dir(SAMPLE))
    users = json.loads((SAMPLE / "users.json").read_text())
    user_id, user = next(iter(users.items()))
    with container.uow() as uow:
        customer = uow.customers.get(user_id)
        assert customer is not None
        assert customer.emails == [user["email"]]
        orders = uow.orders.for_customer(user_id)
    assert [o.id for o in orders] == user["orders"]
    assert all(o.total > 0 for o in orders)


def test_importing_twice_is_refused_and_writes_nothing_more(container: Container) -> None:
    store = read_dir(SAMPLE)
    tau_retail.import_store(container.uow, container.clock.now(), store)
    with pytest.raises(DomainError) as refused:
        tau_retail.import_store(container.uow, container.clock.now(), store)
    assert refused.value.code is ErrorCode.DUPLICATE_ID
    assert len(tau_retail.export_store(container.uow).users) == len(store.users)


def test_a_broken_record_names_itself_and_nothing_is_imported(
    container: Container, tmp_path: Path
) -> None:
    store = read_dir(SAMPLE)
    order_id = next(iter(store.orders))
    del store.orders[order_id]["items"][0]["price"]
    with pytest.raises(DomainError) as refused:
        tau_retail.import_store(container.uow, container.clock.now(), store)
    assert order_id in refused.value.message
    assert "price" in refused.value.message
    assert tau_retail.export_store(container.uow).users == {}


def test_cli_import_and_export(
    container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    runner = CliRunner()
    imported = runner.invoke(app, ["import", "tau-retail", str(SAMPLE)])
    assert imported.exit_code == 0, imported.output
    assert "imported 3 customers" in imported.output
    exported = runner.invoke(app, ["export", "tau-retail", str(tmp_path / "x")])
    assert exported.exit_code == 0, exported.output
    assert json.loads((tmp_path / "x" / "users.json").read_text()) == json.loads(
        (SAMPLE / "users.json").read_text()
    )
    again = runner.invoke(app, ["import", "tau-retail", str(SAMPLE)])
    assert again.exit_code == 1
    assert "duplicate_id" in again.output


def test_cli_reports_a_missing_file(
    tmp_path: Path, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREDESK_DATABASE_URL", container.settings.database_url)
    result = CliRunner().invoke(app, ["import", "tau-retail", str(tmp_path)])
    assert result.exit_code == 1
    assert "users.json is missing" in result.output
