"""``powermon power``, ``plot`` and ``report``: what the collector gathered, for people.

Defaults: ``power`` and ``plot`` show the last 24 hours; ``report`` covers the last full UTC
day (yesterday 00:00 to today 00:00), or from ``--since`` until now. matplotlib is imported
by ``plot`` only.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from powermond.cli import add_command, add_format_option
from powermond.errors import EXIT_OK, EXIT_USAGE
from powermond.output import iso_z, write_rows

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
PLOT_SUFFIXES = (".png", ".svg", ".pdf")


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
    plot.set_defaults(func=plot_command)

    report = add_command(subparsers, "report", "energy (kWh), mean and peak W, mean load")
    _period_options(report, None)
    report.add_argument("--by", choices=("machine", "pdu"), default="machine")
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
    from powermond.db.sqlite_access import open_url
    from powermond.inventory.load import load_settings
    from powermond.settings import config_dir_from

    settings = load_settings(config_dir_from(getattr(args, "config_dir", None)))

    async def main() -> T:
        db = Database.from_url(open_url(settings.database.url.get_secret_value(), "read"))
        try:
            async with db.transaction() as session:
                return await work(session)
        finally:
            await db.dispose()

    return asyncio.run(main())


def _usage(message: str) -> int:
    print(f"powermon: {message}", file=sys.stderr)
    return EXIT_USAGE


def power_command(args: argparse.Namespace) -> int:
    from powermond.report.queries import power_points

    try:
        since, until = _period(args)
    except _UsageError as exc:
        return _usage(str(exc))
    power = _run(args, lambda session: power_points(session, args.machine, since, until))
    rows = [{"time": p.time, "watts": p.watts, "partial": p.partial, "feeds": p.feeds}
            for p in power.points]  # fmt: skip
    document = {"machine": args.machine, "feeds": list(power.feeds), "points": rows}
    if not rows:
        _no_data(f"no power readings of {args.machine}", since, until)
    if rows or args.format == "json":
        write_rows(rows, ["time", "watts", "partial", "feeds"], args.format, sys.stdout,
                   document=document)  # fmt: skip
    return EXIT_OK


def report_command(args: argparse.Namespace) -> int:
    from powermond.report.power import total_row
    from powermond.report.queries import report_rows

    try:
        since, until = _period(args)
    except _UsageError as exc:
        return _usage(str(exc))
    rows = _run(args, lambda session: report_rows(session, since, until, by=args.by))
    key = args.by
    out = [_rounded({key: r.name, **{k: v for k, v in asdict(r).items() if k != "name"}})
           for r in rows]  # fmt: skip
    if not out:
        _no_data("no readings", since, until)
    if out or args.format == "json":
        columns = [key, "energy_kwh", "mean_watts", "peak_watts", "mean_load", "readings",
                   "load_samples", "method"]  # fmt: skip
        total = total_row(rows)
        footer = _rounded({key: total.pop("name"), **total})
        document = {"since": since, "until": until, "by": key, "rows": out}
        write_rows(out, columns, args.format, sys.stdout, document=document, footer=footer)
    return EXIT_OK


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    """Milli-precision in the output: float sums carry noise in the 15th digit."""
    digits = {"energy_kwh": 6, "mean_watts": 3, "peak_watts": 3, "mean_load": 3}
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

    save(build_figure(plots), output)
    print(f"wrote {output}", file=sys.stderr)
    return EXIT_OK


def _no_data(what: str, since: datetime, until: datetime) -> None:
    print(f"powermon: {what} between {iso_z(since)} and {iso_z(until)}", file=sys.stderr)
