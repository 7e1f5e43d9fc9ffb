"""``powermon collectors``: the collectors sharing the database, their PDUs, last cycles."""

from __future__ import annotations

import argparse
import asyncio
import sys

from powermond.cli import add_command, add_format_option
from powermond.configdir import config_dir_from
from powermond.errors import EXIT_FAILURE, EXIT_OK
from powermond.output import iso_z, write_rows


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    collectors = add_command(
        subparsers,
        "collectors",
        "list the live collectors on the database, their share of the PDUs and last cycle, "
        "and the departed ones still remembered (exit 1 when none is live or a PDU has no "
        "collector)",
    )
    add_format_option(collectors)
    collectors.set_defaults(func=_collectors)


def _collectors(args: argparse.Namespace) -> int:
    from powermond.db.engine import Database
    from powermond.db.sqlite_access import open_url
    from powermond.inventory.load import load_all
    from powermond.report.collectors import CollectorsView, collectors_view

    settings, inventory = load_all(config_dir_from(getattr(args, "config_dir", None)))

    async def run() -> CollectorsView:
        url = open_url(settings.database.url.get_secret_value(), "read")
        async with Database.from_url(url) as db, db.transaction() as session:
            return await collectors_view(session, inventory, settings.collector.forget_after)

    view = asyncio.run(run())
    rows = [
        {
            "collector": c.name,
            "host": c.host,
            "pid": c.pid,
            "pdus": len(c.pdus) if args.format != "json" else list(c.pdus),
            "last_cycle": c.last_cycle,
            "failed": c.last_failed,
            "heartbeat": iso_z(c.heartbeat_at),
            "note": "; ".join(
                ([] if c.live else [c.departure]) + ([] if c.same_pdus else ["other pdus.toml"])
            ),
        }
        for c in (*view.collectors, *view.departed)
    ]
    columns = ["collector", "host", "pid", "pdus", "last_cycle", "failed", "heartbeat", "note"]
    write_rows(rows, columns, args.format, sys.stdout, document=view.as_json())
    if args.format == "table":
        if not view.collectors:
            print("no live collector: is powermond running?")
        if view.unpolled:
            print(f"{len(view.unpolled)} PDUs have no collector: {', '.join(view.unpolled)}")
    sys.stdout.flush()
    return EXIT_OK if view.healthy else EXIT_FAILURE
