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
    async with identity_harness(
        database_url,
        tmp_path,
        clock,
        withdrawal_approval_threshold="1000.00",
        daily_withdrawal_limit="5000.00",
    ) as running:
        yield running
