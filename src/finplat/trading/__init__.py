"""trading domain: orders and their state machine, pre-trade risk, order books and matching,
venues, executions, and the Alpaca-compatible trading API.

This package is its public face: other domains import only from here (or consume its
events). Portfolio reads positions and executions through these functions or the
`trading.order_event` events.
"""

from finplat.trading.accounts import TradingAccount, open_trading_account, set_kill_switch
from finplat.trading.api import trading_root_routers, trading_routers
from finplat.trading.context import TradingKit, TradingPolicy
from finplat.trading.domain.orders import (
    Order,
    OrderClass,
    OrderEvent,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from finplat.trading.events import TRADING_EVENTS
from finplat.trading.positions import Position, open_positions
from finplat.trading.service import (
    Submitted,
    apply_execution,
    cancel_all,
    cancel_order,
    get_order,
    submit_order,
)
from finplat.trading.setup import build_trading_kit, run_venues

__all__ = [
    "TRADING_EVENTS",
    "Order",
    "OrderClass",
    "OrderEvent",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "Position",
    "Side",
    "Submitted",
    "TimeInForce",
    "TradingAccount",
    "TradingKit",
    "TradingPolicy",
    "apply_execution",
    "build_trading_kit",
    "cancel_all",
    "cancel_order",
    "get_order",
    "open_positions",
    "open_trading_account",
    "run_venues",
    "set_kill_switch",
    "submit_order",
    "trading_root_routers",
    "trading_routers",
]
