"""``powermon probe HOST`` (what is this PDU?) and ``powermon poll`` (one cycle now)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, get_args

from powermond.cli import add_command, add_format_option
from powermond.devtext import device_text
from powermond.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, NotFoundError, PowermonError
from powermond.inventory.protocols import AuthProtocol, PrivProtocol
from powermond.output import write_json, write_rows
from powermond.readings import OutletReading, is_inlet

if TYPE_CHECKING:  # pydantic and the SNMP client load when a command runs, not for --help
    from powermond.inventory.model import PduConfig
    from powermond.snmp.client import PduTransport, SnmpClient
    from powermond.snmp.profiles.base import Decoded

OUTLET_COLUMNS = ("outlet", "watts", "amps", "energy_kwh")
POLL_COLUMNS = ("pdu", "outlet", "machine", "watts", "amps", "energy_kwh")

POLL_EPILOG = """\
Rows labelled inlet (inlet.N, inlet.U.N) are the PDU's own inlet meters, beside its outlets.
Notes on a PDU (such as "switched, not metered per outlet") go to stderr, and to "notes"
in JSON.
exit status: 0 when the cycle ran and at least one PDU answered (PDUs that failed are
listed under "errors" in JSON, and on stderr otherwise); 1 when every PDU failed or the
readings could not be stored; 78 for a configuration error."""

PROBE_EPILOG = """\
Rows labelled inlet (inlet.N, inlet.U.N) are the PDU's own inlet or input cord meters;
a machine can be mapped to them as PDU:inlet. A profile that yields outlets is preferred;
failing that, one that yields inlet meters only (inlet-only or switched-only PDUs).
Secrets may come from the environment instead of the command line (which other users can
see in the process list): POWERMON_COMMUNITY, POWERMON_AUTH_KEY, POWERMON_PRIV_KEY.
exit status: 0 when a profile yields outlets or inlet meters (or says the PDU is
switched only), 1 otherwise."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    probe = add_command(subparsers, "probe", "detect a PDU's profile and print every outlet")
    probe.epilog = PROBE_EPILOG
    probe.formatter_class = argparse.RawDescriptionHelpFormatter
    probe.add_argument("host", help="PDU host name or address")
    probe.add_argument("--port", type=int, default=161)
    probe.add_argument(
        "--version", choices=("1", "2c", "3"), help="default: 3 with --user, else 2c"
    )
    probe.add_argument("--community", default=os.environ.get("POWERMON_COMMUNITY", "public"))
    probe.add_argument("--user", help="SNMPv3 user")
    probe.add_argument("--auth-protocol", choices=get_args(AuthProtocol))
    probe.add_argument("--auth-key", default=os.environ.get("POWERMON_AUTH_KEY"))
    probe.add_argument("--priv-protocol", choices=get_args(PrivProtocol))
    probe.add_argument("--priv-key", default=os.environ.get("POWERMON_PRIV_KEY"))
    probe.add_argument("--context", default="", help="SNMPv3 context name")
    probe.add_argument("--profile", help="use this profile instead of detecting one")
    probe.add_argument("--timeout", type=float, default=2.0, help="seconds per request")
    probe.add_argument("--retries", type=int, default=1)
    _verbose_option(probe)
    add_format_option(probe)
    probe.set_defaults(func=_probe)

    poll = add_command(subparsers, "poll", "run one SNMP cycle over the configured PDUs now")
    poll.epilog = POLL_EPILOG
    poll.formatter_class = argparse.RawDescriptionHelpFormatter
    poll.add_argument("--pdu", action="append", metavar="NAME", help="only this PDU (repeatable)")
    poll.add_argument(
        "--outlet",
        metavar="N",
        help="only this outlet of the one --pdu, as machines.toml writes it (8, 2.8, inlet): "
        "one SNMP GET of its row instead of walking the table",
    )
    poll.add_argument(
        "--no-store", action="store_true", help="print only, store neither readings nor health"
    )
    _verbose_option(poll)
    add_format_option(poll)
    poll.set_defaults(func=_poll)


def _verbose_option(parser: argparse.ArgumentParser) -> None:
    # Also after the command (`powermon poll -v`); the global -v works as well.
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the SNMP exchange: each request, its max-repetitions, the varbinds each "
        "answer had, round-trip times and retries",
    )


# --- probe ----------------------------------------------------------------------------------


@dataclass
class ProbeResult:
    host: str
    sys_object_id: str
    sys_descr: str
    profile: str | None = None
    reason: str = ""
    readings: tuple[OutletReading, ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    tried: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "sys_object_id": self.sys_object_id,
            "sys_descr": self.sys_descr,
            "profile": self.profile,
            "reason": self.reason,
            "outlets": [_outlet_row(r) for r in self.readings],
            "notes": list(self.notes),
            "warnings": list(self.warnings),
            "tried": self.tried,
        }


def _outlet_row(reading: OutletReading) -> dict[str, Any]:
    return {c: getattr(reading, c) for c in OUTLET_COLUMNS}


def _probe_pdu(args: argparse.Namespace) -> PduConfig:
    from pydantic import SecretStr, ValidationError

    from powermond.inventory.model import PduConfig

    version = args.version or ("3" if args.user else "2c")
    fields: dict[str, Any] = {
        "name": args.host,
        "host": args.host,
        "port": args.port,
        "profile": args.profile or "probe",
        "version": version,
        "timeout": args.timeout,
        "retries": args.retries,
    }
    if version == "3":
        fields |= {
            "user": args.user,
            "auth_protocol": args.auth_protocol or ("SHA" if args.auth_key else None),
            "auth_key": SecretStr(args.auth_key) if args.auth_key else None,
            "priv_protocol": args.priv_protocol or ("AES128" if args.priv_key else None),
            "priv_key": SecretStr(args.priv_key) if args.priv_key else None,
            "context": args.context,
        }
    else:
        fields["community"] = SecretStr(args.community)
    try:
        return PduConfig(**fields)
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]) for e in exc.errors())
        raise PowermonError(f"bad SNMP options: {problems}") from None


async def probe(client: PduTransport, pdu: PduConfig, forced: str | None) -> ProbeResult:
    """Read sysObjectID/sysDescr, then walk each candidate profile until one gives outlets;
    failing that, keep the first that gives inlet meters (or at least a note)."""
    from powermond.snmp import profiles
    from powermond.snmp.client import SYS_DESCR, SYS_OBJECT_ID

    system = await client.get(pdu, [SYS_OBJECT_ID, SYS_DESCR])
    object_id = device_text(system.get(SYS_OBJECT_ID))
    descr = device_text(system.get(SYS_DESCR))
    result = ProbeResult(pdu.host, object_id, descr)
    if forced:
        choices = [(forced, "forced with --profile")]
    else:
        choices = profiles.candidates(object_id, descr)
    reasons = dict(choices)
    tried = [decoded async for decoded in _walk_each(client, pdu, choices, result.tried)]
    chosen = profiles.choose(tried)
    if chosen is not None:
        name, decoded = chosen
        result.profile, result.reason = name, reasons[name]
        result.readings, result.warnings = decoded.readings, decoded.warnings
        result.notes = decoded.notes
    return result


async def _walk_each(
    client: PduTransport,
    pdu: PduConfig,
    choices: list[tuple[str, str]],
    tried: list[dict[str, str]],
) -> AsyncIterator[tuple[str, Decoded]]:
    """Each candidate walked and decoded in turn, until one yields outlets."""
    from powermond.collect.cycle import walk_profile
    from powermond.snmp import profiles

    for name, reason in choices:
        try:
            profile = profiles.get(name)
        except ValueError as exc:
            raise PowermonError(str(exc)) from None
        decoded = profile.decode(await walk_profile(client, pdu, profile))
        tried.append({"profile": name, "reason": reason, "result": _outcome(decoded)})
        yield name, decoded
        if any(not is_inlet(r.outlet) for r in decoded.readings):
            return


def _outcome(decoded: Decoded) -> str:
    inlets = sum(1 for r in decoded.readings if is_inlet(r.outlet))
    outlets = len(decoded.readings) - inlets
    parts = [f"{outlets} outlets" if outlets else "no outlets"]
    if inlets:
        parts.append(f"{inlets} inlet meter{'s' if inlets > 1 else ''}")
    return ", ".join([*parts, *decoded.notes])


def _probe(args: argparse.Namespace) -> int:
    from powermond.snmp.client import ClientDefaults, SnmpClient

    pdu = _probe_pdu(args)
    defaults = ClientDefaults(timeout=args.timeout, retries=args.retries)

    async def run() -> ProbeResult:
        async with SnmpClient(defaults) as client:
            return await probe(client, pdu, args.profile)

    result = asyncio.run(run())
    if args.format == "json":
        write_json(result.to_json(), sys.stdout)
    else:
        _print_probe(result)
    return EXIT_OK if result.profile else EXIT_FAILURE


def _print_probe(result: ProbeResult) -> None:
    print(f"host:        {result.host}")
    print(f"sysObjectID: {result.sys_object_id}")
    print(f"sysDescr:    {result.sys_descr}")
    for attempt in result.tried:
        print(f"tried {attempt['profile']} ({attempt['reason']}): {attempt['result']}")
    if not result.profile:
        print("no profile yields outlets or inlet meters from this device", file=sys.stderr)
        return
    print(f"profile:     {result.profile} ({result.reason})")
    for note in result.notes:
        print(f"note:        {note}")
    print()
    write_rows([_outlet_row(r) for r in result.readings], OUTLET_COLUMNS, "table", sys.stdout)
    for warning in result.warnings:
        print(f"warning: {device_text(warning)}", file=sys.stderr)


# --- poll -----------------------------------------------------------------------------------


def _poll(args: argparse.Namespace) -> int:
    from powermond.collect.cycle import cycle_time, poll_cycle
    from powermond.configdir import config_dir_from
    from powermond.inventory.load import load_all
    from powermond.snmp.client import ClientDefaults, SnmpClient

    settings, inventory = load_all(config_dir_from(getattr(args, "config_dir", None)))
    pdus = list(inventory.pdus.values())
    if args.pdu:
        unknown = [n for n in args.pdu if n not in inventory.pdus]
        if unknown:
            raise NotFoundError(f"no PDU named {', '.join(unknown)} in the configuration")
        pdus = [inventory.pdus[n] for n in args.pdu]
    if args.outlet is not None and (not args.pdu or len(args.pdu) != 1):
        print("powermon: --outlet needs exactly one --pdu", file=sys.stderr)
        return EXIT_USAGE
    from powermond.collect.outlet import LABEL as OUTLET_LABEL

    if args.outlet is not None and not OUTLET_LABEL.match(args.outlet):
        print(f"powermon: --outlet {args.outlet}: an outlet is N, U.N, AB3, inlet or inlet.N",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    if not pdus:
        print("powermon: no PDUs configured", file=sys.stderr)
        return EXIT_USAGE
    collector = settings.collector
    cycle = cycle_time(datetime.now(UTC), collector.interval)
    defaults = ClientDefaults(collector.timeout, collector.retries, collector.max_repetitions)

    async def run() -> Any:
        async with SnmpClient(defaults) as client:
            if args.outlet is not None:
                result = await _poll_outlet(client, pdus[0], cycle, args.outlet)
            else:
                result = await poll_cycle(client, pdus, cycle, concurrency=collector.concurrency)
        if not args.no_store:
            await _store(settings.database.url.get_secret_value(), result, collector.interval)
        return result

    result = asyncio.run(run())
    _print_poll(result, inventory.outlet_map(), args.format)
    return EXIT_FAILURE if len(result.errors) == len(result.results) else EXIT_OK


async def _poll_outlet(client: SnmpClient, pdu: PduConfig, cycle: datetime, label: str) -> Any:
    from powermond.collect.cycle import CycleResult
    from powermond.collect.outlet import read_outlet
    from powermond.snmp.profiles import make_profile

    try:
        profile = make_profile(pdu)
    except ValueError as exc:
        raise PowermonError(f"PDU {pdu.name}: {exc}") from None
    result = await read_outlet(client, pdu, profile, label)
    return CycleResult(cycle, (result,), result.seconds)


async def _store(url: str, result: Any, interval: float) -> None:
    """The whole cycle in one transaction, rollups included: the daemon's own store step;
    then every polled PDU's health, as the daemon records it."""
    from powermond.collect.store import CycleInfo, store_cycle
    from powermond.db.cycles import POLL
    from powermond.db.engine import Database
    from powermond.db.health import HealthRecorder
    from powermond.db.sqlite_access import open_url

    info = CycleInfo(POLL, failed=len(result.errors), seconds=result.seconds)
    async with Database.from_url(open_url(url, "write")) as db:
        try:
            if result.readings_by_pdu():
                readings = result.readings_by_pdu()
                await store_cycle(db, result.cycle, readings, interval=interval, info=info)
        except PowermonError as exc:  # the DB layer's errors name no password
            raise PowermonError(f"polled, but storing the readings failed: {exc}") from None
        finally:
            await HealthRecorder(db).record(result)


def _print_poll(result: Any, outlet_map: dict[tuple[str, str], str], fmt: str) -> None:
    if fmt == "json":
        write_json(result.to_json(outlet_map), sys.stdout)
    else:
        write_rows(result.reading_rows(outlet_map), POLL_COLUMNS, fmt, sys.stdout)
    for r in result.results:
        for note in r.notes:
            print(f"powermon: PDU {r.pdu}: {note}", file=sys.stderr)
        for warning in r.warnings:
            print(f"powermon: PDU {r.pdu}: warning: {warning}", file=sys.stderr)
        if r.error:
            print(f"powermon: PDU {r.pdu}: {r.error}", file=sys.stderr)


__all__ = ["probe", "register"]
