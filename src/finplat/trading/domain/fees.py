"""What a fill costs beyond its price, and how cash amounts round to the cent.

US equities: a commission (basis points of the notional, zero by default, as at commission-free
brokers) and, on sales only, the regulatory fees brokers pass on: the SEC fee (a rate on the
notional) and FINRA's trading activity fee (per share, capped per trade). Crypto: basis points
of the notional. Every fee rounds up to the cent; the notional rounds half-even to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal

from finplat.trading.domain.orders import Side

CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    """A cash amount of a fill: half-even to the cent."""
    return value.quantize(CENT, ROUND_HALF_EVEN)


def fee_cents(value: Decimal) -> Decimal:
    """A fee: up to the next cent (a fee is never rounded away)."""
    return value.quantize(CENT, ROUND_CEILING)


@dataclass(frozen=True)
class FeeSchedule:
    commission_bps: Decimal = Decimal(0)
    sec_fee_rate: Decimal = Decimal("0.0000278")  # of the sale notional
    taf_per_share: Decimal = Decimal("0.000166")
    taf_max: Decimal = Decimal("8.30")  # per order
    crypto_bps: Decimal = Decimal(25)

    def fee(self, side: Side, qty: Decimal, notional: Decimal, *, crypto: bool) -> Decimal:
        """The fee of an order that has filled `qty` for `notional` so far, in cents."""
        if crypto:
            return fee_cents(notional * self.crypto_bps / 10_000)
        total = notional * self.commission_bps / 10_000
        if side is Side.SELL:
            total += notional * self.sec_fee_rate
            total += min(qty * self.taf_per_share, self.taf_max)
        return fee_cents(total)


@dataclass(frozen=True)
class FillAmounts:
    cash: Decimal  # what changes hands for the shares, in cents
    fee: Decimal  # in cents


def fill_amounts(
    schedule: FeeSchedule,
    side: Side,
    *,
    filled_qty: Decimal,
    filled_notional: Decimal,
    qty: Decimal,
    price: Decimal,
    crypto: bool,
) -> FillAmounts:
    """The cash and fee of one fill, as the change of the order's cumulative amounts: each
    rounds once over the whole order, so the fills of an order add up to exactly what the
    order as one fill would cost, and never to more than its hold."""
    after_qty, after_notional = filled_qty + qty, filled_notional + qty * price
    cash = cents(after_notional) - cents(filled_notional)
    fee = schedule.fee(side, after_qty, after_notional, crypto=crypto) - schedule.fee(
        side, filled_qty, filled_notional, crypto=crypto
    )
    return FillAmounts(cash, fee)
