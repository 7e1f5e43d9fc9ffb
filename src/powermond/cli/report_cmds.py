"""``powermon power``, ``plot`` and ``report``: what the collector gathered, for people.

Defaults: ``power`` and ``plot`` show the last 24 hours; ``report`` covers the last full UTC
day (yesterday 00:00 to today 00:00), or from ``--since`` until now. matplotlib is imported
by ``plot`` only.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from powermond.cli import add_command, add_format_option, importing, run_async
from powermond.errors import EXIT_OK, EXIT_USAGE
from powermond.output import iso_z, write_rows

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from powermond.db.repository_base import Session

T = TypeVar("T")
PLOT_SUFFIXES = (".png", ".svg", ".pdf")

REPORT_EPILOG = """\
The check column compares energy taken from the PDUs' energy counters with the energy their
watts readings give over the same time: "ok", or how far the counters are off when that is
more than 10 % (a frozen counter reads -100 %; a reset or replaced one jumps), with a
warning on stderr. Empty: no counter to check."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    power = add_command(subparsers, "power", "power readings of a machine, summed over its feeds")
    power.add_argument("machine")
    _period_options(power, "-24h")
    add_format_option(power)
    power.set_defaults(func=power_command)

    plot = add_command(subparsers, "plot", "PNG/SVG/PDF: power and load of machines over time")
    plot.add_argument("machines", nargs="+", metavar="MACHINE")
    _period_options(plot, "-24h")
    plot.add_argument("-o", "--output", required=True, metavar="FILE", help=".png, .svg or .pdf")
    plot.add_argument(
        "--kind",
        choices=("time", "scatter"),
        default="time",
        help="time: power above load over time (default); scatter: watts against load, "
        "with the fitted idle watts and watts per unit of load",
    )
    plot.add_argument(
        "--load",
        default="5",
        metavar="1,5,15",
        help="which load averages to draw, in minutes (default 5; scatter uses the first)",
    )
    plot.set_defaults(func=plot_command)

    report = add_command(subparsers, "report", "energy (kWh), mean and peak W, mean load")
    _period_options(report, None)
    report.add_argument(
        "--by",
        choices=("machine", "pdu"),
        default="machine",
        help="machine (default), or pdu: a PDU with an inlet meter is reported from it, "
        "with its outlets' sum (outlets_kwh) and the difference beside it",
    )
    report.add_argument(
        "--machine",
        nargs="+",
        metavar="NAME",
        help="only these machines (with --by pdu: the PDUs that fed them)",
    )
    report.add_argument(
        "--pdu",
        nargs="+",
        metavar="NAME",
        help="only these PDUs (with --by machine: the machines they fed)",
    )
    report.epilog = REPORT_EPILOG
    report.formatter_class = argparse.RawDescriptionHelpFormatter
    add_format_option(report)
    report.set_defaults(func=report_command)


def _period_options(parser: argparse.ArgumentParser, since: str | None) -> None:
    default = f"default {since}" if since else "default: the last full UTC day"
    parser.add_argument("--since", default=since, help=f"ISO-8601 or -24h, -7d ({default})")
    parser.add_argument("--until", default=None, help="ISO-8601 or relative (default: now)")


class _UsageError(Exception):
    pass


def _period(args: argparse.Namespace) -> tuple[datetime, datetime]:
    from powermond.timeparse import check_period, parse_time

    now = datetime.now(UTC)
    try:
        if args.since is None:  # report: the last full day, unless --until says otherwise
            until = parse_time(args.until, now=now) if args.until else _midnight(now)
            return until - timedelta(days=1), until
        since = parse_time(args.since, now=now)
        until = parse_time(args.until, now=now) if args.until else now
        check_period(since, until)
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    return since, until


def _midnight(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _run(args: argparse.Namespace, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Open the configured database, run ``work`` in one transaction, close it. Gaps are
    the recorded cycles' business, so ``[collector].interval`` plays no part here."""
    from powermond.db.engine import Database

    async def in_transaction(url: str) -> T:
        async with Database.from_url(url) as db, db.transaction() as session:
            return await work(session)

    return _on_database(args, in_transaction)


def _read(args: argparse.Namespace, work: Callable[[Session], Awaitable[T]]) -> T:
    """:func:`_run` for ``work`` made of :class:`~powermond.db.repository_base.CoreRepository`
    reads: through SQLAlchemy Core alone (:mod:`powermond.db.reader`: no ORM to import)."""
    from powermond.db.reader import read

    return _on_database(args, lambda url: read(url, work))


def _on_database(args: argparse.Namespace, run: Callable[[str], Awaitable[T]]) -> T:
    """``run`` on the configured database's URL, opened for reading."""
    from powermond.configdir import config_dir_from
    from powermond.db.sqlite_access import open_url
    from powermond.inventory.files import load_database_url

    database_url = load_database_url(config_dir_from(getattr(args, "config_dir", None)))

    async def main() -> T:
        return await run(open_url(database_url, "read"))

    # What is loaded by now (SQLAlchemy, the database URL) outlives the query, so the garbage
    # collector need not walk it again at each full collection: a year's plot makes some
    # 200,000 objects, whose collections otherwise took a third of its query's CPU time.
    # Unfrozen after: the command may run inside a longer process (tests).
    gc.freeze()
    try:
        return run_async(main())
    finally:
        gc.unfreeze()


def _usage(message: str) -> int:
    print(f"powermon: {message}", file=sys.stderr)
    return EXIT_USAGE


def power_command(args: argparse.Namespace) -> int:
    with importing():
        from powermond.report.machine import power_points

    try:
        since, until = _period(args)
    except _UsageError as exc:
        return _usage(str(exc))
    power = _read(args, lambda session: power_points(session, args.machine, since, until))
    rows = [{"time": p.time, "watts": p.watts, "partial": p.partial, "feeds": p.feeds}
            for p in power.points]  # fmt: skip
    document = {"machine": args.machine, "feeds": list(power.feeds), "points": rows}
    if not rows:
        _no_data(f"no power readings of {args.machine}", since, until)
    if rows or args.format == "json":
        write_rows(rows, ["time", "watts", "partial", "feeds"], args.format, sys.stdout,
                   document=document)  # fmt: skip
    return EXIT_OK


#: ``report --by pdu`` columns: the inlet meter against the sum of the outlets.
PDU_ONLY = ["meter", "outlets_kwh", "difference_kwh"]


def report_command(args: argparse.Namespace) -> int:
    from powermond.report.power import total_row
    from powermond.report.queries import report_rows

    try:
        since, until = _period(args)
    except _UsageError as exc:
        return _usage(str(exc))
    rows = _run(
        args,
        lambda session: report_rows(
            session, since, until, by=args.by, machines=args.machine, pdus=args.pdu
        ),
    )
    key = args.by
    skip = {"name"} if key == "pdu" else {"name", *PDU_ONLY}
    out = [_rounded({key: r.name, **{k: v for k, v in asdict(r).items() if k not in skip}})
           for r in rows]  # fmt: skip
    if not out:
        _no_data("no readings", since, until)
    if out or args.format == "json":
        columns = [key, "energy_kwh", "mean_watts", "peak_watts", "mean_load", "readings",
                   "load_samples", "method", "check"]  # fmt: skip
        if key == "pdu":
            columns += PDU_ONLY
        total = total_row(rows)
        footer = _rounded({key: total.pop("name"), **total})
        document = {"since": since, "until": until, "by": key, "rows": out}
        write_rows(out, columns, args.format, sys.stdout, document=document, footer=footer)
    _warn_checks(rows, key)
    return EXIT_OK


def _warn_checks(rows: list[Any], key: str) -> None:
    for r in rows:
        if r.check not in (None, "ok"):
            print(
                f"powermon: warning: {key} {r.name}: the energy counters give "
                f"{r.energy_kwh:.3f} kWh, the watts readings {r.watts_kwh:.3f} kWh "
                f"({r.check}): a frozen, reset or replaced counter? The report shows the "
                "counters' figure.",
                file=sys.stderr,
            )


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    """Milli-precision in the output: float sums carry noise in the 15th digit."""
    digits = {"energy_kwh": 6, "mean_watts": 3, "peak_watts": 3, "mean_load": 3, "watts_kwh": 6}
    digits |= {"outlets_kwh": 6, "difference_kwh": 6}
    return {
        k: round(v, digits[k]) if k in digits and isinstance(v, float) else v
        for k, v in row.items()
    }


def plot_command(args: argparse.Namespace) -> int:
    output = Path(args.output)
    if output.suffix.lower() not in PLOT_SUFFIXES:
        return _usage(f"{output}: the file name must end in .png, .svg or .pdf")
    try:
        since, until = _period(args)
        loads = _loads(args.load)
    except _UsageError as exc:
        return _usage(str(exc))
    from powermond.report.plotdata import MachinePlot, plot_data

    async def gather(session: AsyncSession) -> list[MachinePlot]:
        return [await plot_data(session, m, since, until) for m in args.machines]

    plots = _run(args, gather)
    if all(p.empty for p in plots):
        _no_data(f"nothing to plot for {', '.join(args.machines)}", since, until)
        return EXIT_OK
    from powermond.report.plot import build_figure, save

    save(build_figure(plots, loads=loads, kind=args.kind), output)
    print(f"wrote {output}", file=sys.stderr)
    return EXIT_OK


def _loads(text: str) -> tuple[int, ...]:
    """``--load 1,5,15`` -> (1, 5, 15), in the order given, each once."""
    loads: list[int] = []
    for part in text.split(","):
        if part.strip() not in ("1", "5", "15"):
            raise _UsageError(f"--load {text}: the load averages are 1, 5 and 15 (minutes)")
        if int(part) not in loads:
            loads.append(int(part))
    return tuple(loads)


def _no_data(what: str, since: datetime, until: datetime) -> None:
    print(f"powermon: {what} between {iso_z(since)} and {iso_z(until)}", file=sys.stderr)
