"""The pure hold arithmetic: parts, releases, partial posts and the state table."""

from __future__ import annotations

import uuid

import pytest

from finplat.kernel import BusinessRuleViolation, InvalidInput
from finplat.ledger.domain import (
    EntryStatus,
    HoldEvent,
    Posting,
    check_balanced,
    hold_part,
    partial_post,
    release,
    resolve_hold,
    reversed_postings,
    still_held,
    transfer,
)

CASH, CLEARING, SHARES, STREET = (uuid.UUID(int=n) for n in range(1, 5))
HELD = transfer(CASH, CLEARING, "USD", 100_00)


def test_a_hold_still_holds_its_amount_less_what_was_released() -> None:
    assert still_held(HELD, 0) == 100_00
    assert still_held(HELD, 30_00) == 70_00
    assert still_held(HELD, 100_00) == 0


def test_a_release_reverses_the_hold_for_its_amount() -> None:
    given_back = release(HELD, 70_00, 25_00)
    assert given_back == (Posting(CASH, "USD", -25_00), Posting(CLEARING, "USD", 25_00))
    assert reversed_postings(given_back) == hold_part(HELD, 25_00)
    assert hold_part(HELD, 25_00) == (Posting(CASH, "USD", 25_00), Posting(CLEARING, "USD", -25_00))
    assert hold_part(HELD, 0) == ()
    assert release(HELD, 70_00, 70_00)[1] == Posting(CLEARING, "USD", 70_00)  # all it holds


@pytest.mark.parametrize(
    ("remaining", "amount", "message"),
    [
        (70_00, 70_01, "between 1 and 7000"),
        (70_00, 0, "between 1 and 7000"),
        (70_00, -1, "between 1 and 7000"),
        (0, 1, "holds nothing more"),
    ],
)
def test_a_release_gives_back_between_one_and_what_is_held(
    remaining: int, amount: int, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        release(HELD, remaining, amount)
    assert caught.value.code == "invalid_release_amount"


def test_release_amounts_are_integers() -> None:
    with pytest.raises(TypeError):
        release(HELD, 10, 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        release(HELD, 10, True)


def test_a_post_settles_at_most_what_is_still_held_and_may_be_zero() -> None:
    assert partial_post(HELD, None, 60_00) == transfer(CASH, CLEARING, "USD", 60_00)
    assert partial_post(HELD, 12_34, 60_00) == transfer(CASH, CLEARING, "USD", 12_34)
    assert partial_post(HELD, 0, 60_00) == ()
    assert partial_post(HELD, None, 0) == ()  # fully released: posting it moves nothing
    with pytest.raises(InvalidInput, match="between 0 and 6000") as caught:
        partial_post(HELD, 60_01, 60_00)
    assert caught.value.code == "invalid_post_amount"
    with pytest.raises(InvalidInput, match="between 0 and 6000"):
        partial_post(HELD, -1, 60_00)


def test_only_a_pending_hold_releases_and_it_stays_pending() -> None:
    assert resolve_hold(EntryStatus.PENDING, HoldEvent.RELEASE) is EntryStatus.PENDING
    for closed in (EntryStatus.SETTLED, EntryStatus.VOIDED, EntryStatus.EXPIRED):
        with pytest.raises(BusinessRuleViolation) as caught:
            resolve_hold(closed, HoldEvent.RELEASE)
        assert caught.value.code == "hold_not_pending"


def test_a_fill_balances_per_asset_across_two_assets() -> None:
    fill = check_balanced(
        [
            Posting(CASH, "USD", 1_001_00),
            Posting(CLEARING, "USD", -1_000_00),
            Posting(uuid.UUID(int=9), "USD", -1_00),  # the fee
            Posting(STREET, "AAPL", 5_000_000_000),
            Posting(SHARES, "AAPL", -5_000_000_000),
        ]
    )
    assert len(fill) == 5
    with pytest.raises(InvalidInput) as caught:  # sums to zero overall, not per asset
        check_balanced([Posting(CASH, "USD", 5), Posting(SHARES, "AAPL", -5)])
    assert caught.value.code == "unbalanced_entry"
    assert caught.value.details == {"USD": "5", "AAPL": "-5"}
