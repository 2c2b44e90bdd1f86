"""Run every benchmark and print its figures next to its baseline."""

from __future__ import annotations

import argparse
import asyncio

from benchmarks import outbox


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--events", type=int, default=2000, help="events per measurement")
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql"
    )
    args = parser.parse_args()
    asyncio.run(outbox.run(args.events, args.databases.split(",")))


if __name__ == "__main__":
    main()
