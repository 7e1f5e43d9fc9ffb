"""``powermon status``: the last cycle, spool, database, PDUs not up, stale and partial
machines; exit 0 when everything is up, 1 when something is down or stale."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from powermond.cli import add_command, add_format_option
from powermond.configdir import config_dir_from
from powermond.errors import EXIT_FAILURE, EXIT_OK
from powermond.output import write_json, write_rows

EPILOG = """\
exit status: 0 when everything is up; 1 when a PDU is not up, a machine is stale (no
reading for more than two intervals) or partial (a feed missing from the last cycle), no
cycle ran for more than two intervals, or the database cannot be reached; 78 for a
configuration error. Usable as a Nagios/Icinga check command."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = add_command(subparsers, "status", "is everything up? (a check command)")
    status.epilog = EPILOG
    status.formatter_class = argparse.RawDescriptionHelpFormatter
    add_format_option(status)
    status.set_defaults(func=_status)


def _status(args: argparse.Namespace) -> int:
    from powermond.inventory.load import load_all
    from powermond.status import CSV_COLUMNS, gather

    settings, inventory = load_all(config_dir_from(getattr(args, "config_dir", None)))
    report = asyncio.run(gather(settings, datetime.now(UTC), inventory))
    if args.format == "json":
        write_json(report.to_json(), sys.stdout)
    elif args.format == "csv":
        rows = [row for section in report.sections for row in section.rows]
        write_rows(rows, CSV_COLUMNS, "csv", sys.stdout)
    else:
        for section in report.sections:
            for line in section.lines:
                print(line)
        verdict = "OK" if report.ok else f"PROBLEM ({len(report.problems)})"
        print(f"status:     {verdict}")
    return EXIT_OK if report.ok else EXIT_FAILURE
