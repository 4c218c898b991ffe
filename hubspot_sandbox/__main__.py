"""Command line: ``python -m hubspot_sandbox`` / ``hubspot-sandbox``.

Tokens come from the environment variable ``HUBSPOT_SANDBOX_TOKEN`` (comma
separated; each gets every courses scope) and are never printed.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from hubspot_sandbox.config import ALL_COURSE_SCOPES, SandboxConfig
from hubspot_sandbox.faults import Faults
from hubspot_sandbox.seed import seed_portal
from hubspot_sandbox.server import Sandbox

TOKEN_ENV = "HUBSPOT_SANDBOX_TOKEN"  # noqa: S105 - a variable name


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hubspot-sandbox",
        description=(
            "Serve a local HubSpot portal with courses. Allowed bearer tokens are "
            f"read from {TOKEN_ENV} (comma separated)."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind")
    parser.add_argument("--port", type=int, default=0, help="TCP port, 0 for any")
    parser.add_argument(
        "--seed-courses",
        type=int,
        default=500,
        metavar="N",
        help="number of seeded courses (default 500)",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the seed data")
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=190,
        metavar="N",
        help="requests per 10 s per token (default 190)",
    )
    parser.add_argument("--daily-limit", type=int, default=1_000_000, metavar="N")
    parser.add_argument(
        "--latency-ms", type=int, default=0, help="delay added to every request"
    )
    parser.add_argument("--search-lag-seconds", type=float, default=0.0)
    parser.add_argument("--list-over-limit", choices=("cap", "error"), default="cap")
    parser.add_argument(
        "--ready-file",
        type=Path,
        metavar="PATH",
        help="write the base URL to PATH once listening",
    )
    parser.add_argument("--log-level", default="WARNING")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox until SIGTERM or SIGINT.

    Args:
        argv: Arguments (defaults to ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    tokens = [t.strip() for t in os.environ.get(TOKEN_ENV, "").split(",") if t.strip()]
    if not tokens:
        _parser().error(f"set {TOKEN_ENV} to the bearer token(s) clients will use")
    config = SandboxConfig(
        tokens={token: ALL_COURSE_SCOPES for token in tokens},
        rate_limit_max=args.rate_limit,
        daily_limit=args.daily_limit,
        list_over_limit=args.list_over_limit,
        search_lag_seconds=args.search_lag_seconds,
        host=args.host,
        port=args.port,
    )
    sandbox = Sandbox(config, faults=Faults(latency_ms=args.latency_ms))
    seed_portal(sandbox.store, courses=args.seed_courses, seed=args.seed)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    sandbox.start()
    try:
        if args.ready_file is not None:
            partial = args.ready_file.with_name(args.ready_file.name + ".tmp")
            partial.write_text(sandbox.url + "\n", encoding="utf-8")
            partial.replace(args.ready_file)
        print(
            f"HubSpot sandbox listening on {sandbox.url} "
            f"with {len(sandbox.store.courses)} courses",
            flush=True,
        )
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
