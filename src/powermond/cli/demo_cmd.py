"""``powermon demo``: the whole system against simulated PDUs and RRDs on loopback."""

from __future__ import annotations

import argparse

from powermond.cli import add_command


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a number >= 1")
    return value


def _interval(text: str) -> float:
    value = float(text)
    if not 1 <= value <= 300:
        raise argparse.ArgumentTypeError(f"{text} is not between 1 and 300 seconds")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a UDP port (0 picks a free one)")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from powermond.demo.defaults import DEFAULT_CYCLES, DEFAULT_DIR, DEFAULT_INTERVAL

    parser = add_command(
        subparsers, "demo", "the whole system against simulated PDUs and RRDs on loopback"
    )
    parser.add_argument(
        "--dir",
        default=str(DEFAULT_DIR),
        help=f"working directory; a rerun replaces what the demo made (default {DEFAULT_DIR})",
    )
    parser.add_argument(
        "--cycles",
        type=_positive_int,
        default=DEFAULT_CYCLES,
        help=f"SNMP cycles the daemon runs (default {DEFAULT_CYCLES})",
    )
    parser.add_argument(
        "--interval",
        type=_interval,
        default=DEFAULT_INTERVAL,
        metavar="SECONDS",
        help=f"collector interval (default {DEFAULT_INTERVAL:g})",
    )
    parser.add_argument(
        "--port", type=_port, default=0, help="UDP port of the simulated PDUs (default: a free one)"
    )
    parser.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from powermond.demo.run import options_from, run_demo

    return run_demo(options_from(args)).exit_code
