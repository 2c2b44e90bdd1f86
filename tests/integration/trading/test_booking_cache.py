"""Platform account ids are remembered only once the transaction that opened them commits."""

from __future__ import annotations

import uuid

import pytest

from finplat.platform.db import UnitOfWorkFactory
from finplat.trading.booking import PlatformAccounts, books_for


class Refused(Exception):
    pass


async def test_a_rolled_back_opening_is_not_remembered(uows: UnitOfWorkFactory) -> None:
    known: PlatformAccounts = {}
    owner = uuid.UUID(int=7)
    with pytest.raises(Refused):
        async with uows() as uow:
            await books_for(uow, owner, "AAPL", currency="USD", book="paper", platform=known)
            raise Refused  # e.g. risk refuses the order after its accounts were opened
    assert known == {}
    async with uows() as uow:
        books = await books_for(uow, owner, "AAPL", currency="USD", book="paper", platform=known)
    assert set(known) == {
        ("clearing", "USD", "paper"),
        ("clearing", "AAPL", "paper"),
        ("fees_revenue", "USD", "paper"),
    }
    assert known["clearing", "USD", "paper"].id == books.clearing_cash.id
    async with uows() as uow:  # the next order finds them without opening anything
        again = await books_for(uow, owner, "AAPL", currency="USD", book="paper", platform=known)
    assert again.fees.id == books.fees.id
