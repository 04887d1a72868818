"""The tests' copy of the demo store: generated once per test process and arguments, found again
by the next test's desk, which has a model folder of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from caredesk import demo
from caredesk.bootstrap import Container, bootstrap
from tests.conftest import CHEAP_HASHER, _empty
from tests.integration.demo_store import load_demo_store

# Arguments no other test loads the store with, so that this process has no copy of it yet.
ARGUMENTS: dict[str, Any] = {
    "seed": 5,
    "customers": 0,
    "admin_email": "copy.check@caredesk.example",
    "admin_password": "copy-check-password",
}


@pytest.fixture
def generated(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The seeds demo.load_demo generated a store for, in this test."""
    seeds: list[int] = []
    generate = demo.load_demo

    def counted(*args: Any, **kwargs: Any) -> demo.DemoSummary:
        seeds.append(kwargs["seed"])
        return generate(*args, **kwargs)

    monkeypatch.setattr(demo, "load_demo", counted)
    return seeds


@pytest.fixture
def next_desk(container: Container, tmp_path: Path) -> Iterator[Callable[[Path], Container]]:
    """The desk of a later test: the same database, emptied, and this model folder."""
    built: list[Container] = []

    def make(model_dir: Path) -> Container:
        _empty(container.engine)
        model_dir.mkdir()
        settings = container.settings.model_copy(update={"model_dir": model_dir})
        desk = bootstrap(settings, clock=container.clock, hasher=CHEAP_HASHER)
        built.append(desk)
        return desk

    yield make
    for desk in built:
        desk.close()


def test_the_next_test_copies_the_store_its_process_generated(
    container: Container,
    generated: list[int],
    next_desk: Callable[[Path], Container],
    tmp_path: Path,
) -> None:
    first = load_demo_store(container, **ARGUMENTS)
    later = next_desk(tmp_path / "models-of-a-later-test")

    copied = load_demo_store(later, **ARGUMENTS)

    assert generated == [ARGUMENTS["seed"]]
    assert copied.counts == first.counts
    assert copied.admin_id == first.admin_id


def test_a_model_folder_holding_a_prepared_model_generates_again(
    container: Container,
    generated: list[int],
    next_desk: Callable[[Path], Container],
    tmp_path: Path,
) -> None:
    # A prepared encoder embeds the store's articles: a copy made without it is another store.
    load_demo_store(container, **{**ARGUMENTS, "seed": 6})
    later = next_desk(tmp_path / "prepared")
    (later.settings.model_dir / "encoder.onnx").write_bytes(b"a prepared model")

    load_demo_store(later, **{**ARGUMENTS, "seed": 6})

    assert generated == [6, 6]
