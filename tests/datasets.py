"""The public data sets beside the project (`../shared/datasets`), used when present.

The project never needs them: a test that does is marked with `needs_dataset(name)` and is
skipped, saying where it looked, on a clone that has no such folder beside it.
`CAREDESK_DATASETS` points somewhere else.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def datasets_dir() -> Path:
    return Path(os.environ.get("CAREDESK_DATASETS") or ROOT.parent / "shared" / "datasets")


def dataset(name: str) -> Path:
    return datasets_dir() / name


def needs_dataset(name: str) -> pytest.MarkDecorator:
    path = dataset(name)
    return pytest.mark.skipif(
        not path.is_dir(),
        reason=f"the public data set {name} is not at {path} (set CAREDESK_DATASETS)",
    )
