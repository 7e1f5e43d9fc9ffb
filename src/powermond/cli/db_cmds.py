"""``powermon db upgrade``, ``pdus``, ``machines``, ``outlets PDU``: schema and stored items."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from powermond.cli import add_command, add_format_option, importing, run_async
from powermond.configdir import config_dir_from
from powermond.db.rows import MachineRow, OutletRow, PduRow
from powermond.errors import EXIT_OK, NotFoundError
from powermond.output import iso_z, write_rows

if TYPE_CHECKING:
    from powermond.db.repository_base import Session
    from powermond.db.retention import PruneResult

T = TypeVar("T")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = add_command(subparsers, "db", "manage the database schema")
    actions = db.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    upgrade = add_command(actions, "upgrade", "create or migrate the schema to the newest revision")
    upgrade.set_defaults(func=_upgrade)
    prune = add_command(
        actions,
        "prune",
        "the daily job now: close finished days into daily rollups, delete raw readings and"
        " load older than [storage] raw_days/load_days",
    )
    prune.add_argument(
        "--before", metavar="TIME", help="delete raw rows before this hour instead (ISO-8601, -30d)"
    )
    prune.set_defaults(func=_prune)

    pdus = add_command(subparsers, "pdus", "list the PDUs in the database (retired ones marked)")
    add_format_option(pdus)
    pdus.set_defaults(func=_pdus)
    machines = add_command(
        subparsers, "machines", "list the machines and their outlets (retired ones marked)"
    )
    add_format_option(machines)
    machines.set_defaults(func=_machines)
    outlets = add_command(
        subparsers, "outlets", "list a PDU's outlets, their machines and latest readings"
    )
    outlets.add_argument("pdu", metavar="PDU", help="PDU name as in pdus.toml")
    add_format_option(outlets)
    outlets.set_defaults(func=_outlets)


def _database_url(args: argparse.Namespace) -> str:
    """The database URL alone: these commands need no other setting (nor pydantic)."""
    from powermond.inventory.files import load_database_url

    return load_database_url(config_dir_from(getattr(args, "config_dir", None)))


def _query(args: argparse.Namespace, work: Callable[[Session], Awaitable[T]]) -> T:
    """Run ``work`` in one read transaction against the configured database, through
    SQLAlchemy Core alone (:mod:`powermond.db.reader`: no ORM to import)."""
    from powermond.db.reader import read
    from powermond.db.sqlite_access import open_url

    async def run() -> T:
        return await read(open_url(_database_url(args), "read"), work)

    return run_async(run())


def _upgrade(args: argparse.Namespace) -> int:
    from powermond.db.engine import safe_url
    from powermond.db.migrate import migrate

    url = _database_url(args)
    before, after = asyncio.run(migrate(url))
    if before == after:
        print(f"{safe_url(url)}: already at revision {after}")
    else:
        print(f"{safe_url(url)}: upgraded from {before or 'empty'} to revision {after}")
    return EXIT_OK


def _prune(args: argparse.Namespace) -> int:
    """The daemon's daily job, now: daily rollups of finished days, then retention; hourly
    rollups are kept."""
    from powermond.db.daily import CloseResult, close_days
    from powermond.db.engine import Database
    from powermond.db.retention import horizon, prune
    from powermond.db.sqlite_access import open_url
    from powermond.inventory.load import load_settings
    from powermond.timeparse import parse_time

    settings = load_settings(config_dir_from(getattr(args, "config_dir", None)))
    now = datetime.now(UTC)
    readings_before: datetime | None
    load_before: datetime | None
    if args.before is not None:
        readings_before = load_before = parse_time(args.before, now=now)
    else:
        readings_before = horizon(now, settings.storage.raw_days)
        load_before = horizon(now, settings.storage.load_days)

    async def run() -> tuple[CloseResult, PruneResult]:
        url = open_url(settings.database.url.get_secret_value(), "write")
        async with Database.from_url(url) as db:
            closed = await close_days(db, now)
            return closed, await prune(db, readings_before, load_before)

    closed, result = asyncio.run(run())
    for kind in ("power", "load"):
        print(f"daily {kind} rollups: {closed.closed.get(kind, 0)} days closed")
    for what, count, before in (
        ("power readings", result.readings, result.readings_before),
        ("load samples", result.load, result.load_before),
    ):
        done = "kept (retention 0 days)" if before is None else f"{count} removed"
        print(f"{what}: {done}" + ("" if before is None else f" from before {iso_z(before)}"))
    return EXIT_OK


def _status(retired_at: datetime | None) -> str:
    return "active" if retired_at is None else f"retired {iso_z(retired_at)}"


def _pdus(args: argparse.Namespace) -> int:
    with importing():
        from powermond.db.catalog import PduRepository
        from powermond.db.health import HealthRepository

    async def work(session: Session) -> tuple[list[PduRow], dict[str, Any]]:
        listed = await PduRepository(session).list(include_retired=True)
        return listed, await HealthRepository(session).states(include_retired=True)

    pdus, health = _query(args, work)
    rows = [
        {
            "name": p.name,
            "host": p.host,
            "port": p.port,
            "profile": p.profile,
            "version": p.snmp_version,
            "status": _status(p.retired_at),
            "retired": p.retired,
            "created_at": p.created_at,
            "retired_at": p.retired_at,
            **_health_columns(health.get(p.name)),
        }
        for p in pdus
    ]
    columns = ["name", "host", "port", "profile", "version", "status", "state", "last_success"]
    _write(rows, columns, args.format)
    return EXIT_OK


def _health_columns(health: Any) -> dict[str, Any]:
    """A PDU's stored health (``None``: no cycle has polled it since the upgrade)."""
    if health is None:
        return {"state": "not polled", "since": None, "last_success": None, "last_error": None}
    return {
        "state": health.state,
        "since": health.since,
        "last_success": health.last_success,
        "last_error": health.last_error,
        "failures": health.failures,
        "walk_seconds": health.walk_seconds,
    }


def _machines(args: argparse.Namespace) -> int:
    with importing():
        from powermond.db.catalog import MachineRepository

    found: list[MachineRow] = _query(
        args, lambda s: MachineRepository(s).list(include_retired=True)
    )
    rows = [
        {
            "name": m.name,
            "outlets": list(m.outlets) if args.format == "json" else " ".join(m.outlets),
            "rrd": m.rrd,
            "status": _status(m.retired_at),
            "retired": m.retired,
            "created_at": m.created_at,
            "retired_at": m.retired_at,
        }
        for m in found
    ]
    _write(rows, ["name", "outlets", "rrd", "status"], args.format)
    return EXIT_OK


def _outlets(args: argparse.Namespace) -> int:
    with importing():
        from powermond.db.catalog import OutletRepository, PduRepository

    async def work(session: Session) -> tuple[PduRow | None, list[OutletRow]]:
        pdu = await PduRepository(session).get(args.pdu)
        if pdu is None:
            return None, []
        return pdu, await OutletRepository(session).list_for_pdu(args.pdu)

    pdu, outlets = _query(args, work)
    if pdu is None:
        raise NotFoundError(f"PDU {args.pdu!r} is not in the database (see `powermon pdus`)")
    rows = [
        {
            "pdu": o.pdu,
            "outlet": o.label,
            "machine": o.machine,
            "last_reading": o.last_time,
            "watts": o.last_watts,
        }
        for o in outlets
    ]
    _write(rows, ["outlet", "machine", "last_reading", "watts"], args.format)
    return EXIT_OK


def _write(rows: list[dict[str, Any]], columns: list[str], fmt: str) -> None:
    write_rows(rows, columns, fmt, sys.stdout)
    sys.stdout.flush()
