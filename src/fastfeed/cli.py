"""The ``fastfeed`` command line: demo, run, simulate, bench (top/record/replay to come)."""

from __future__ import annotations

import argparse
import sys

from fastfeed import __version__


def build_parser() -> argparse.ArgumentParser:
    """The top-level argument parser with one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="fastfeed",
        description="Exact L2 order books from exchange WebSocket feeds at C speed.",
    )
    parser.add_argument("--version", action="version", version=f"fastfeed {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``fastfeed`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
