"""``powermon import-load`` (one RRD import run) and ``powermon load MACHINE``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from powermond.cli import add_command, add_format_option
from powermond.configdir import config_dir_from
from powermond.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, NotFoundError
from powermond.output import write_rows
from powermond.timeparse import check_period, parse_time

if TYPE_CHECKING:
    from powermond.collect.loadimport import ImportSummary
    from powermond.db.engine import Database
    from powermond.db.sqlite_access import Access
    from powermond.settings import Settings

DEFAULT_SPAN = timedelta(hours=24)
LOAD_COLUMNS = ("time", "load1", "load5", "load15")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = add_command(subparsers, "import-load", "import CPU load from the Ganglia RRD files once")
    run.add_argument("--machine", metavar="NAME", help="only this machine")
    run.add_argument(
        "--since",
        type=_time,
        help="re-read from this time instead of each machine's last stored load (fills gaps)",
    )
    run.set_defaults(func=_import_load)

    show = add_command(subparsers, "load", "show the stored load averages of a machine")
    show.add_argument("machine", metavar="MACHINE")
    show.add_argument("--since", type=_time, help="from this time (default: 24 h ago)")
    show.add_argument("--until", type=_time, help="up to this time, exclusive (default: now)")
    add_format_option(show)
    show.set_defaults(func=_show_load)


def _time(text: str) -> datetime:
    try:
        return parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _settings(args: argparse.Namespace) -> Settings:
    from powermond.inventory.load import load_settings

    return load_settings(config_dir_from(getattr(args, "config_dir", None)))


def _database(url: str, access: Access) -> Database:
    from powermond.db.engine import Database
    from powermond.db.sqlite_access import open_url

    return Database.from_url(open_url(url, access))


# --- import-load ------------------------------------------------------------------------


def _import_load(args: argparse.Namespace) -> int:
    settings = _settings(args)
    progress = _ProgressLine(sys.stderr) if sys.stderr.isatty() else None
    summary = asyncio.run(_run_import(settings, args.machine, args.since, progress))
    if progress is not None:
        progress.close()
    print(
        f"load import: {summary.machines} machines, {summary.rows} rows, "
        f"{summary.skipped} skipped, {summary.errors} errors"
    )
    everything_failed = summary.errors > 0 and summary.machines == 0
    return EXIT_FAILURE if everything_failed else EXIT_OK


async def _run_import(
    settings: Settings, machine: str | None, since: datetime | None, progress: _ProgressLine | None
) -> ImportSummary:
    from powermond.collect.loadimport import import_load
    from powermond.db.repositories import MachineRepository

    async with _database(settings.database.url.get_secret_value(), "write") as db:
        async with db.transaction() as session:
            machines = await MachineRepository(session).list()
        if machine is not None:
            machines = [m for m in machines if m.name == machine]
            if not machines:
                raise NotFoundError(f"machine {machine!r} is not in the database")
        report = progress.update if progress is not None else None
        return await import_load(db, settings.rrd, machines, since=since, progress=report)


class _ProgressLine:
    """``importing load: 1200/5000 machines`` rewritten in place on a terminal."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.shown = False

    def update(self, done: int, total: int) -> None:
        self.out.write(f"\rimporting load: {done}/{total} machines")
        self.out.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.out.write("\n")
            self.out.flush()


# --- load MACHINE -----------------------------------------------------------------------


def _show_load(args: argparse.Namespace) -> int:
    until = args.until or datetime.now(UTC)
    since = args.since or until - DEFAULT_SPAN
    try:
        check_period(since, until)
    except ValueError as exc:
        print(f"powermon: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from powermond.inventory.files import load_database_url  # the URL alone: no pydantic

    url = load_database_url(config_dir_from(getattr(args, "config_dir", None)))
    points = asyncio.run(_read_load(url, args.machine, since, until))
    write_rows(
        points,
        LOAD_COLUMNS,
        args.format,
        sys.stdout,
        document={"machine": args.machine, "points": points},
    )
    return EXIT_OK


async def _read_load(
    url: str, machine: str, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    from powermond.db.repositories import LoadRepository, MachineRepository

    async with _database(url, "read") as db, db.transaction() as session:
        if await MachineRepository(session).get(machine) is None:
            raise NotFoundError(f"machine {machine!r} is not in the database")
        samples = await LoadRepository(session).between(machine, since, until)
    return [
        {"time": s.time, "load1": s.load1, "load5": s.load5, "load15": s.load15} for s in samples
    ]
