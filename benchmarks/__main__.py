"""Run every benchmark and print its figures next to its baseline."""

from __future__ import annotations

import argparse
import asyncio

from benchmarks import auth, ledger, marketdata, matching, orders_e2e, outbox, screening


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--events", type=int, default=2000, help="events per measurement")
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql"
    )
    parser.add_argument("--requests", type=int, default=1000, help="requests per auth path")
    parser.add_argument("--screenings", type=int, default=5000, help="queries for screening")
    parser.add_argument("--transfers", type=int, default=1000, help="transfers per ledger run")
    parser.add_argument(
        "--ticks", type=int, default=2000, help="trades per market data throughput phase"
    )
    parser.add_argument("--orders", type=int, default=1_000_000, help="operations for matching")
    parser.add_argument("--e2e-orders", type=int, default=2000, help="orders per orders_e2e row")
    parser.add_argument(
        "--only",
        choices=[
            "all",
            "outbox",
            "auth",
            "screening",
            "ledger",
            "marketdata",
            "matching",
            "orders_e2e",
        ],
        default="all",
    )
    args = parser.parse_args()
    parser_only = args.only
    if parser_only in {"all", "outbox"}:
        asyncio.run(outbox.run(args.events, args.databases.split(",")))
    if parser_only in {"all", "auth"}:
        asyncio.run(auth.run(args.requests))
    if parser_only in {"all", "screening"}:
        screening.run(args.screenings)
    if parser_only in {"all", "ledger"}:
        asyncio.run(ledger.run(args.transfers))
    if parser_only in {"all", "marketdata"}:
        marketdata.run(args.ticks)
    if parser_only in {"all", "matching"}:
        matching.run(args.orders)
    if parser_only in {"all", "orders_e2e"}:
        asyncio.run(orders_e2e.run(args.e2e_orders))


if __name__ == "__main__":
    main()
