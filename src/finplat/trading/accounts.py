"""Trading accounts (one per customer: state, paper or live, short sales) and the global
kill switch."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from finplat.platform.db import UnitOfWork
from finplat.trading.domain.risk import AccountTradingState
from finplat.trading.store import controls, trading_accounts

KILL_SWITCH = "kill_switch"


@dataclass(frozen=True)
class TradingAccount:
    account_id: uuid.UUID  # the customer's user id
    account_number: str
    state: AccountTradingState
    paper: bool
    may_short: bool
    created_at: datetime

    @property
    def book(self) -> str:
        """The ledger book the account's money lives in."""
        return "paper" if self.paper else "live"


def _account(row: object) -> TradingAccount:
    return TradingAccount(
        account_id=row.account_id,  # type: ignore[attr-defined]
        account_number=row.account_number,  # type: ignore[attr-defined]
        state=AccountTradingState(row.state),  # type: ignore[attr-defined]
        paper=row.paper,  # type: ignore[attr-defined]
        may_short=row.may_short,  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
    )


async def find_account(uow: UnitOfWork, account_id: uuid.UUID) -> TradingAccount | None:
    row = (
        await uow.session.execute(
            select(trading_accounts).where(trading_accounts.c.account_id == account_id)
        )
    ).one_or_none()
    return None if row is None else _account(row)


async def open_trading_account(
    uow: UnitOfWork, account_id: uuid.UUID, *, paper: bool = False
) -> TradingAccount:
    """The customer's trading account, opened (active, long only) on first use. Whether it
    is paper is decided once, when it opens: paper and real money never mix."""
    found = await find_account(uow, account_id)
    if found is not None:
        return found
    now = uow.clock.now()
    prefix = "PA" if paper else "LA"
    try:
        async with uow.session.begin_nested():
            await uow.session.execute(
                insert(trading_accounts).values(
                    account_id=account_id,
                    account_number=f"{prefix}{secrets.randbelow(10**10):010d}",
                    state=AccountTradingState.ACTIVE.value,
                    paper=paper,
                    may_short=False,
                    created_at=now,
                    updated_at=now,
                )
            )
    except IntegrityError:
        pass  # opened concurrently
    found = await find_account(uow, account_id)
    assert found is not None  # noqa: S101 - inserted or found just now
    return found


async def set_account_state(
    uow: UnitOfWork,
    account_id: uuid.UUID,
    *,
    state: AccountTradingState | None = None,
    may_short: bool | None = None,
) -> TradingAccount:
    account = await open_trading_account(uow, account_id)
    values: dict[str, object] = {"updated_at": uow.clock.now()}
    if state is not None:
        values["state"] = state.value
    if may_short is not None:
        values["may_short"] = may_short
    await uow.session.execute(
        update(trading_accounts)
        .where(trading_accounts.c.account_id == account.account_id)
        .values(**values)
    )
    found = await find_account(uow, account_id)
    assert found is not None  # noqa: S101
    return found


@dataclass(frozen=True)
class KillSwitch:
    enabled: bool
    reason: str
    changed_by: uuid.UUID | None
    changed_at: datetime | None


async def kill_switch(uow: UnitOfWork) -> KillSwitch:
    row = (
        await uow.session.execute(select(controls).where(controls.c.name == KILL_SWITCH))
    ).one_or_none()
    if row is None:
        return KillSwitch(False, "", None, None)
    return KillSwitch(row.enabled, row.reason, row.changed_by, row.changed_at)


async def set_kill_switch(
    uow: UnitOfWork, *, enabled: bool, reason: str, by: uuid.UUID
) -> KillSwitch:
    now = uow.clock.now()
    values = {"enabled": enabled, "reason": reason, "changed_by": by, "changed_at": now}
    updated = await uow.session.execute(
        update(controls).where(controls.c.name == KILL_SWITCH).values(**values)
    )
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        await uow.session.execute(insert(controls).values(name=KILL_SWITCH, **values))
    return KillSwitch(enabled, reason, by, now)
