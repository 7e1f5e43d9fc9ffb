"""The daemon's view of polling: one shared SNMP client, profiles per PDU, PDU health."""

from __future__ import annotations

import logging
from datetime import datetime
from types import TracebackType

from powermond.collect.cycle import CycleResult, PduHealth, cycle_bound, poll_cycle
from powermond.collect.outlets import OutletGrowth
from powermond.inventory.model import Inventory, PduConfig
from powermond.output import iso_z
from powermond.settings import CollectorSettings
from powermond.snmp.client import ClientDefaults, PduTransport, SnmpClient
from powermond.snmp.profiles import make_profile
from powermond.snmp.profiles.base import Profile

log = logging.getLogger(__name__)


class Poller:
    """Polls an inventory's PDUs; ``async with Poller(settings) as poller``."""

    def __init__(self, settings: CollectorSettings, transport: PduTransport | None = None) -> None:
        self._settings = settings
        self._client = SnmpClient(
            ClientDefaults(
                timeout=settings.timeout,
                retries=settings.retries,
                max_repetitions=settings.max_repetitions,
            )
        )
        # Tests poll through a fake transport; the real client is then opened but unused.
        self._transport: PduTransport = transport or self._client
        self._health = PduHealth(log)
        self._growth = OutletGrowth()
        self._known: set[str] = set()

    async def __aenter__(self) -> Poller:
        await self._client.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._client.__aexit__(exc_type, exc, tb)
        except Exception:
            # An abandoned cycle can leave requests pending in pysnmp, whose close() then
            # calls their callbacks; a failure there must not turn a clean stop into exit 1.
            log.warning("closing the SNMP client failed", exc_info=True)

    async def poll(self, inventory: Inventory, cycle: datetime) -> CycleOutcome:
        pdus = list(inventory.pdus.values())
        gone = self._known - set(inventory.pdus)
        self._health.forget(sorted(gone))
        self._growth.forget(sorted(gone))
        self._known = set(inventory.pdus)
        result = await poll_cycle(
            self._transport,
            pdus,
            cycle,
            concurrency=self._settings.concurrency,
            profile_for=_profile_for,
        )
        self._health.observe(result)
        result = self._growth.cap(result)
        for pdu in result.results:
            for warning in pdu.warnings:
                log.debug("PDU %s: %s", pdu.pdu, warning)
        return CycleOutcome(result)

    def bound(self, inventory: Inventory) -> float:
        """The longest a cycle over ``inventory``'s PDUs may poll (:func:`cycle_bound`)."""
        pdus = list(inventory.pdus.values())
        return cycle_bound(self._transport, pdus, self._settings.concurrency)


#: Profiles by what makes one (a PDU's profile or custom column, and its voltage): 10,000
#: PDUs of one model are one entry. A cache keyed by the PduConfig missed every lookup once
#: there were more PDUs than entries, and hashed all their fields each time.
_PROFILES: dict[tuple[object, ...], Profile] = {}
_MAX_PROFILES = 1024


def _profile_for(pdu: PduConfig) -> Profile:
    key = (pdu.profile_name, pdu.oid, pdu.quantity, pdu.scale, pdu.voltage, pdu.power_factor)
    profile = _PROFILES.get(key)
    if profile is None:
        if len(_PROFILES) >= _MAX_PROFILES:  # custom columns by the thousand: start over
            _PROFILES.clear()
        profile = _PROFILES[key] = make_profile(pdu)
    return profile


class CycleOutcome:
    """A cycle's result as the daemon uses it: what to store and one status line."""

    def __init__(self, result: CycleResult) -> None:
        self.result = result
        self.readings = result.readings_by_pdu()

    @property
    def pdus_ok(self) -> int:
        return len(self.readings)

    @property
    def pdus_total(self) -> int:
        return len(self.result.results)

    def status_line(self, cycle: datetime, duration: float, stored: str) -> str:
        """``stored`` says what became of the readings (``CycleWriter.fate``)."""
        count = sum(len(r) for r in self.readings.values())
        return (
            f"cycle {iso_z(cycle)}: {self.pdus_ok}/{self.pdus_total} PDUs ok, "
            f"{count} readings, {stored}, {duration:.1f} s"
        )
