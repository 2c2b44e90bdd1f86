from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from finplat.kernel import ManualClock
from finplat.platform.db import Database
from tests.support.identity import Harness, identity_harness


@pytest.fixture
async def harness(
    database: Database, database_url: str, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[Harness]:
    async with identity_harness(database_url, tmp_path, clock) as running:
        yield running
