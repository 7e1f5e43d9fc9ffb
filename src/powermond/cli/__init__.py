"""The ``powermon`` command line: global options and dispatch.

Each command group lives in its own module with ``register(subparsers)``; a command sets
``func`` (``Callable[[argparse.Namespace], int]``) on its parser. Commands stay thin: they
parse, call the same functions the daemon uses, and print.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Coroutine, Iterator, Sequence
from contextlib import contextmanager
from importlib import import_module
from typing import Any, TypeVar

from powermond import __version__
from powermond.errors import EXIT_USAGE
from powermond.output import FORMATS

log = logging.getLogger("powermond")
T = TypeVar("T")

#: Command-group modules under powermond.cli, in --help order.
COMMAND_MODULES = (
    "daemon_cmd",
    "db_cmds",
    "cluster_cmds",
    "config_cmds",
    "snmp_cmds",
    "load_cmds",
    "report_cmds",
    "status_cmd",
    "demo_cmd",
    "docs_cmds",
)

#: The module of each command: running one builds (and imports) only its group's parser, a
#: tenth of building them all (``tests/cli/test_docs_cmds.py`` checks this against them).
COMMANDS = {
    "run": "daemon_cmd",
    **dict.fromkeys(("db", "pdus", "machines", "outlets"), "db_cmds"),
    "collectors": "cluster_cmds",
    "config": "config_cmds",
    **dict.fromkeys(("probe", "poll"), "snmp_cmds"),
    **dict.fromkeys(("import-load", "load"), "load_cmds"),
    **dict.fromkeys(("power", "plot", "report"), "report_cmds"),
    "status": "status_cmd",
    "demo": "demo_cmd",
    **dict.fromkeys(("completion", "manpage"), "docs_cmds"),
}

#: Options whose values may start with "-" (relative times such as -24h).
_DASH_VALUE_OPTIONS = ("--since", "--until", "--before")


def _join_dash_values(argv: Sequence[str]) -> list[str]:
    """Turn ``--since -24h`` into ``--since=-24h`` so argparse does not read -24h as an option."""
    out: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        item = items[i]
        if item in _DASH_VALUE_OPTIONS and i + 1 < len(items) and items[i + 1].startswith("-"):
            out.append(f"{item}={items[i + 1]}")
            i += 2
            continue
        out.append(item)
        i += 1
    return out


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a value given after the command overrides the global one, absent leaves it.
    common.add_argument(
        "--config-dir",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="configuration directory (default: $POWERMON_CONFIG_DIR or /etc/powermon)",
    )
    return common


def add_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str
) -> argparse.ArgumentParser:
    """A sub-command parser that also accepts ``--config-dir`` after the command name."""
    return subparsers.add_parser(name, help=help, description=help, parents=[_common_options()])


def add_format_option(parser: argparse.ArgumentParser, default: str = "table") -> None:
    parser.add_argument("--format", choices=FORMATS, default=default, help="output format")


def command_of(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names after the global options, if any."""
    items = iter(argv)
    for item in items:
        if len(item) > 2 and "--config-dir".startswith(item.partition("=")[0]):
            if "=" not in item:
                next(items, None)  # its value
        elif not item.startswith("-"):
            return item
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line; for ``command`` (one of :data:`COMMANDS`), only its group's
    commands, which is all that running it needs (anything else: every command)."""
    parser = argparse.ArgumentParser(
        prog="powermon", description="PowerMon: per-machine power and load from metered PDUs."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--config-dir",
        metavar="DIR",
        help="configuration directory (default: $POWERMON_CONFIG_DIR or /etc/powermon)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in (COMMANDS[command],) if command in COMMANDS else COMMAND_MODULES:
        try:
            module = import_module(f"powermond.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"powermond.cli.{name}":
                raise
            continue  # command group not built yet
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    items = _join_dash_values(sys.argv[1:] if argv is None else argv)
    try:
        with importing():
            parser = build_parser(command_of(items))
        args = parser.parse_args(items)
        if getattr(args, "func", None) is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return dispatch(args)
    finally:
        gc.unfreeze()  # what importing() froze: collectable again in a longer process (tests)


def dispatch(args: argparse.Namespace, prog: str = "powermon") -> int:
    """Run the command ``args.func``: errors become one ``prog: message`` line and an exit code."""
    from powermond.cli.failures import run_command
    from powermond.logsetup import setup_logging

    setup_logging(debug=args.verbose)
    return run_command(args.func, args, prog)


@contextmanager
def importing() -> Iterator[None]:
    """A command's imports, without garbage collections, and what they made frozen.

    Importing makes hundreds of thousands of objects (SQLAlchemy's modules, classes and
    caches) that live as long as the process, and no garbage; yet each 700 new objects
    start a collection that walks the young ones: some 100 collections, ~0.016 s of CPU
    for SQLAlchemy alone, a twentieth of a ``pdus`` run. Frozen (``gc.freeze``), they are
    not walked again either; :func:`main` unfreezes them when the command ends (a
    command may run inside a longer process: tests).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, whose result leaves the event loop's task before it ends.

    Python 3.11's ``asyncio.run`` formats the repr of its main task when it restores the
    SIGINT handler (``signal.getsignal`` tries the handler as an enum value, and the failed
    lookup's message is built with ``%r``), result included: a command's rows (a day of
    ``power``: 0.01 s of CPU, a year's plot: far more) were formatted twice for nothing.
    """
    import asyncio

    result: list[T] = []

    async def keep() -> None:
        result.append(await main)

    asyncio.run(keep())
    return result[0]


def daemon_main(argv: Sequence[str] | None = None) -> int:
    """The ``powermond`` entry point: the same as ``powermon run``, with its own name."""
    from powermond.cli.daemon_cmd import daemon_parser

    args = daemon_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return dispatch(args, "powermond")
