"""``powermon run`` (also ``powermond``): the daemon in the foreground."""

from __future__ import annotations

import argparse

from powermond import __version__
from powermond.cli import add_command
from powermond.configdir import config_dir_from

DESCRIPTION = (
    "run the collector daemon in the foreground (what powermond.service starts); "
    "SIGHUP reloads, SIGTERM stops; exit 78 on invalid configuration"
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = add_command(subparsers, "run", DESCRIPTION)
    # Also after the command, so that `powermond -v` (which is `powermon run ...`) works.
    run.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log debug messages"
    )
    run.set_defaults(func=_run)


def daemon_parser() -> argparse.ArgumentParser:
    """``powermond``'s own parser: ``powermon run`` under the daemon's name, with --version."""
    parser = argparse.ArgumentParser(
        prog="powermond", description=f"PowerMon's collector daemon: {DESCRIPTION}."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--config-dir",
        metavar="DIR",
        help="configuration directory (default: $POWERMON_CONFIG_DIR or /etc/powermon)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.set_defaults(func=_run)
    return parser


def _run(args: argparse.Namespace) -> int:
    from powermond.daemon import main

    return main(config_dir_from(getattr(args, "config_dir", None)))
