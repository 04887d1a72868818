"""The benchmarks refuse to write figures taken on a busy machine, and say how busy it was."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import _common


def args(*given: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    _common.add_run_arguments(parser)
    return parser.parse_args(list(given))


def test_a_busy_machine_does_not_write_the_docs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common.os, "getloadavg", lambda: (3.5, 2.0, 1.0))
    with pytest.raises(SystemExit) as refused:
        _common.Conditions.begin(args("--write-docs"))
    assert "busy (load average 3.50" in str(refused.value.code)


def test_a_busy_machine_may_measure_without_writing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common.os, "getloadavg", lambda: (3.5, 2.0, 1.0))
    assert not _common.Conditions.begin(args()).forced


def test_forced_figures_say_they_were_taken_under_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common.os, "getloadavg", lambda: (3.5, 2.0, 1.0))
    text = _common.Conditions.begin(args("--write-docs", "--force")).describe()
    assert text.startswith("**Taken under load")
    assert "3.50 2.00 1.00 at the start" in text


def test_a_quiet_run_records_the_machine_and_the_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common.os, "getloadavg", lambda: (0.4, 0.3, 0.2))
    text = _common.Conditions.begin(args("--write-docs")).describe()
    assert text.startswith("Conditions: ") and "cores" in text and "commit " in text
    assert "0.40 0.30 0.20 at the start and 0.40 0.30 0.20 at the end" in text
