"""One poll cycle: every PDU walked concurrently, each within its own time bound.

Pure with respect to storage: the caller stores ``CycleResult.readings_by_pdu()``. A PDU that
times out, refuses us or answers nonsense yields an error string for that PDU only; the other
PDUs are neither delayed nor affected.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from powermond.collect.health import NO_TABLE
from powermond.db.schema import LABEL_LENGTH
from powermond.output import iso_z
from powermond.readings import OutletReading, OutletReadings, is_inlet
from powermond.snmp.errors import SnmpError

if TYPE_CHECKING:  # the SNMP client and profiles load only where a cycle polls; pydantic
    # (the inventory's models) not for commands that only read health (`powermon pdus`)
    from powermond.inventory.model import PduConfig
    from powermond.snmp.client import PduTransport
    from powermond.snmp.profiles.base import Profile, Rows, Table

    ProfileFor = Callable[[PduConfig], Profile]

log = logging.getLogger(__name__)

#: Requests one walk may take within its bound: v3 discovery, then the bulk request(s).
ROUNDS_PER_WALK = 3
#: Added to every bound for scheduling and decoding, so a healthy PDU is never cut off.
SLACK_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class PduResult:
    """One PDU's part of a cycle: readings and warnings, or an error."""

    pdu: str
    #: An :class:`OutletReadings` once decoded by a cycle (a tuple where tests build one).
    readings: Sequence[OutletReading] = ()
    warnings: tuple[str, ...] = ()
    error: str | None = None
    seconds: float = 0.0
    #: What is true of the PDU as a whole, e.g. "switched, not metered per outlet".
    notes: tuple[str, ...] = ()
    #: Rows dropped because the database could not store them (see :func:`storable`).
    rejected: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class CycleResult:
    """Every PDU's result for the cycle scheduled at ``cycle`` (UTC)."""

    cycle: datetime
    results: tuple[PduResult, ...] = field(default=())
    seconds: float = 0.0

    @property
    def errors(self) -> list[PduResult]:
        return [r for r in self.results if not r.ok]

    def readings_by_pdu(self) -> dict[str, Sequence[OutletReading]]:
        """What to store: the readings of every PDU that answered."""
        return {r.pdu: r.readings for r in self.results if r.ok}

    def reading_rows(self, outlet_map: Mapping[tuple[str, str], str]) -> list[dict[str, Any]]:
        return [
            {
                "pdu": r.pdu,
                "outlet": reading.outlet,
                "machine": outlet_map.get((r.pdu, reading.outlet)),
                "watts": reading.watts,
                "amps": reading.amps,
                "energy_kwh": reading.energy_kwh,
            }
            for r in self.results
            for reading in r.readings
        ]

    def to_json(self, outlet_map: Mapping[tuple[str, str], str]) -> dict[str, Any]:
        """The DESIGN.md poll shape; ``outlet_map`` is ``Inventory.outlet_map()``."""
        return {
            "cycle": iso_z(self.cycle),
            "readings": self.reading_rows(outlet_map),
            "errors": [{"pdu": r.pdu, "error": r.error} for r in self.errors],
            "notes": [{"pdu": r.pdu, "note": n} for r in self.results for n in r.notes],
        }


def cycle_time(now: datetime, interval: float) -> datetime:
    """The scheduled time of the cycle running at ``now``: the last multiple of ``interval``."""
    stamp = now.timestamp()
    return datetime.fromtimestamp(stamp - stamp % interval, UTC)


def pdu_bound(client: PduTransport, pdu: PduConfig) -> float:
    """Seconds one PDU's walk may take: each request timeout x (retries + 1), a few rounds."""
    return client.request_budget(pdu) * ROUNDS_PER_WALK + SLACK_SECONDS


def cycle_bound(client: PduTransport, pdus: Sequence[PduConfig], concurrency: int) -> float:
    """The longest a cycle can take: waves of ``concurrency`` PDUs, each at its own bound."""
    if not pdus:
        return SLACK_SECONDS
    waves = math.ceil(len(pdus) / max(1, concurrency))
    return waves * max(pdu_bound(client, p) for p in pdus) + SLACK_SECONDS


async def poll_cycle(
    client: PduTransport,
    pdus: Sequence[PduConfig],
    cycle: datetime,
    *,
    concurrency: int,
    profile_for: ProfileFor | None = None,
    deadline: float | None = None,
) -> CycleResult:
    """Walk ``pdus`` (at most ``concurrency`` at a time) and decode their outlets.

    ``cycle`` is the scheduled time every reading carries. Each PDU is cut off at
    :func:`pdu_bound`; the whole cycle at ``deadline`` seconds (default :func:`cycle_bound`),
    after which PDUs not yet done are reported as timed out.
    """
    started = time.monotonic()
    profile_for = profile_for or _default_profiles()
    budget = deadline if deadline is not None else cycle_bound(client, pdus, concurrency)
    results: list[PduResult | None] = [None] * len(pdus)
    queue = iter(enumerate(pdus))  # shared: each worker takes the next PDU, in order

    async def worker() -> None:
        for index, pdu in queue:
            results[index] = await poll_pdu(client, pdu, profile_for)

    # ``concurrency`` workers taking the PDUs in order, not a task per PDU waiting on a
    # semaphore: those tasks (a task, coroutine, name and semaphore waiter each) lived to
    # the cycle's end, the poll's transient peak at 10,000 PDUs (docs/scaling.md, peak20).
    workers = [
        asyncio.create_task(worker(), name=f"poll worker {n}")
        for n in range(min(len(pdus), max(1, concurrency)))
    ]
    try:
        if workers:
            await asyncio.wait(workers, timeout=budget)
    finally:  # the deadline, or the cycle itself cancelled: no walk outlives the cycle
        for task in workers:
            task.cancel()
        if workers:
            await asyncio.wait(workers)
    for task in workers:  # a bug, not a PDU's failure: raised, as before
        error = None if task.cancelled() else task.exception()
        if error is not None:
            raise error
    late = f"cycle deadline ({budget:g} s) hit"
    done = tuple(
        r if r is not None else PduResult(p.name, error=late)
        for p, r in zip(pdus, results, strict=True)
    )
    return CycleResult(cycle, done, time.monotonic() - started)


async def poll_pdu(client: PduTransport, pdu: PduConfig, profile_for: ProfileFor) -> PduResult:
    """One PDU: walk its profile's columns and decode them; every failure becomes an error."""
    started = time.monotonic()

    def result(**kw: Any) -> PduResult:
        return PduResult(pdu.name, seconds=time.monotonic() - started, **kw)

    bound = pdu_bound(client, pdu)
    try:
        profile = profile_for(pdu)
        async with asyncio.timeout(bound):
            table = await walk_profile(client, pdu, profile)
    except TimeoutError:
        return result(error=f"timeout: walk not finished within {bound:g} s")
    except SnmpError as exc:
        return result(error=str(exc))
    except ValueError as exc:  # unknown profile
        return result(error=str(exc))
    return _decoded(pdu, profile, table, result)


async def walk_profile(client: PduTransport, pdu: PduConfig, profile: Profile) -> Table:
    """Every column of ``profile``, walked group by group (:func:`profiles.base.walks`)."""
    from powermond.snmp.profiles.base import walks

    table: dict[str, Rows] = {}
    for columns in walks(profile):
        table.update(await client.walk_columns(pdu, columns))
    return table


def _decoded(
    pdu: PduConfig, profile: Profile, table: Table, result: Callable[..., PduResult]
) -> PduResult:
    if not any(rows for rows in table.values()):
        return result(error=NO_TABLE)
    try:
        decoded = profile.decode(table)
    except Exception as exc:  # a decoder bug must not take the cycle down
        log.exception("profile %s failed to decode PDU %s", profile.name, pdu.name)
        return result(error=f"profile {profile.name} could not decode the answer: {exc}")
    notes = decoded.notes
    readings, rejected = storable(decoded.readings)
    if not readings:
        why = "; ".join((*notes, *rejected, *decoded.warnings[:3])) or "no rows decoded"
        return result(error=f"no outlet readings ({why})", warnings=decoded.warnings, notes=notes)
    return result(readings=readings, warnings=decoded.warnings, notes=notes, rejected=rejected)


def storable(
    readings: Sequence[OutletReading],
) -> tuple[OutletReadings, tuple[str, ...]]:
    """The readings whose outlet label fits the database's label column, and why each other
    was dropped. Labels come from the device (index arcs, unit and number columns): one
    absurd row must not make the database refuse the whole cycle, every PDU's readings."""
    kept: list[OutletReading] = []
    rejected: list[str] = []
    for reading in readings:
        label = reading.outlet
        if 0 < len(label) <= LABEL_LENGTH and label.isprintable():
            kept.append(reading)
            continue
        shown = repr(label[:24] + ("…" if len(label) > 24 else ""))
        rejected.append(
            f"outlet label {shown} ({len(label)} characters) is not a storable label "
            f"(1 to {LABEL_LENGTH} printable characters); row dropped"
        )
    return OutletReadings(kept), tuple(rejected)


def _default_profiles() -> ProfileFor:
    from powermond.snmp.profiles import make_profile

    return make_profile


def _counted(readings: Sequence[OutletReading]) -> str:
    inlets = sum(1 for r in readings if is_inlet(r.outlet))
    counted = f"{len(readings) - inlets} outlets"
    return f"{counted}, {inlets} inlet{'s' if inlets > 1 else ''}" if inlets else counted


class PduHealth:
    """Remembers which PDUs are failing, to log a PDU going down once and coming back once."""

    def __init__(self, logger: logging.Logger = log) -> None:
        self._down: dict[str, str] = {}
        self._rejected: dict[str, tuple[str, ...]] = {}
        self._log = logger

    @property
    def down(self) -> dict[str, str]:
        """PDU name -> its current error."""
        return dict(self._down)

    def observe(self, result: CycleResult) -> list[str]:
        """Log state changes in ``result``; returns the messages logged."""
        messages: list[str] = []
        for r in result.results:
            previous = self._down.get(r.pdu)
            if r.error is not None and r.error != previous:
                verb = "still failing, now" if previous else "down"
                messages.append(f"PDU {r.pdu} {verb}: {r.error}")
                self._log.warning(messages[-1], extra={"pdu": r.pdu})
                self._down[r.pdu] = r.error
            elif r.error is None and previous is not None:
                messages.append(f"PDU {r.pdu} is back ({_counted(r.readings)})")
                self._log.info(messages[-1], extra={"pdu": r.pdu})
                del self._down[r.pdu]
            messages += self._observe_rejected(r)
        return messages

    def _observe_rejected(self, r: PduResult) -> list[str]:
        # Once when a PDU starts sending rows that cannot be stored (or other ones), not
        # every cycle; the rows are dropped either way.
        if r.error is not None or r.rejected == self._rejected.get(r.pdu, ()):
            return []
        self._rejected[r.pdu] = r.rejected
        if not r.rejected:
            return []
        shown = "; ".join(r.rejected[:3])
        message = f"PDU {r.pdu}: {len(r.rejected)} row(s) dropped: {shown}"
        self._log.warning(message)
        return [message]

    def forget(self, names: Sequence[str]) -> None:
        """Drop PDUs that left the inventory."""
        for name in names:
            self._down.pop(name, None)
            self._rejected.pop(name, None)
