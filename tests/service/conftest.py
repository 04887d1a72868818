"""The service tier: a feature's commands against in-memory repositories (fakes.py), no
database, no HTTP. What a command decides, refuses and records is tested here; what the
database and the follow-on handlers make of it, in tests/integration."""

from __future__ import annotations

import pytest

from tests.conftest import ManualClock
from tests.service.fakes import FakeUnitOfWork


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()
