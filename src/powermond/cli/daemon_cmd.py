"""``powermon run`` (also ``powermond``): the daemon in the foreground."""

from __future__ import annotations

import argparse

from powermond.cli import add_command
from powermond.configdir import config_dir_from


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = add_command(
        subparsers,
        "run",
        "run the collector daemon in the foreground (what powermond.service starts); "
        "SIGHUP reloads, SIGTERM stops; exit 78 on invalid configuration",
    )
    # Also after the command, so that `powermond -v` (which is `powermon run ...`) works.
    run.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log debug messages"
    )
    run.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from powermond.daemon import main

    return main(config_dir_from(getattr(args, "config_dir", None)))
