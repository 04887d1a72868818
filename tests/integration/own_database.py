"""A database of the module's own, for tests that rewrite the database's files (secure_delete,
FTS merges, a truncated write-ahead log) and so must share them with no other test.

A module imports both fixtures by name; they stand in for the session's shared database:

    from tests.integration.own_database import database_url, migrated_engine  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.conftest import BACKENDS, migrated, new_database


@pytest.fixture(scope="module", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    yield from new_database(request.param, tmp_path_factory)


@pytest.fixture(scope="module")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    yield from migrated(database_url)
