"""Prometheus exposition of the daemon (``[metrics] listen``), with prometheus-client.

Two kinds of metrics, in one registry per daemon:

- self metrics (counters, gauges, histograms updated as things happen): cycles, SNMP errors
  by kind, readings stored, database write time, spool, RRD import, config reloads;
- state metrics computed at scrape time from the latest :class:`Snapshot` (per-PDU health,
  per-outlet readings, per-machine sums). A new snapshot replaces the old one whole, so a PDU
  or machine that left the inventory leaves the exposition with it, and cardinality is
  bounded by the inventory.

Labels carry names from the configuration only (PDU, outlet label, machine), never an address
or a secret. Other modules add families through :meth:`Metrics.register` (a
``prometheus_client`` collector), e.g. per-collector metrics.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from powermond import __version__
from powermond.collect.cycle import CycleResult
from powermond.collect.health import ERROR_KINDS, STATES, PduHealthState, error_kind
from powermond.inventory.model import Inventory
from powermond.readings import OutletReading

JOULES_PER_KWH = 3_600_000.0
CYCLE_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)
DB_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


@dataclass(frozen=True, slots=True)
class OutletSample:
    pdu: str
    outlet: str
    machine: str  # "" when the outlet feeds no machine
    watts: float | None
    amps: float | None
    energy_kwh: float | None


@dataclass(frozen=True, slots=True)
class MachineSample:
    machine: str
    watts: float | None  # None when no feed answered
    partial: bool  # a feed is missing from the cycle


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the latest cycle knew; replaced whole after each cycle (and on reload).

    The outlets' readings are the cycle's own (by PDU), not copies: a copy per outlet held
    between cycles was 480,000 objects (~40 MB) at 10,000 PDUs. Scrapes read them as they are.
    """

    health: Mapping[str, PduHealthState] = field(default_factory=dict)
    readings: Mapping[str, Sequence[OutletReading]] = field(default_factory=dict)
    outlet_map: Mapping[tuple[str, str], str] = field(default_factory=dict)
    machines: tuple[MachineSample, ...] = ()

    @property
    def outlets(self) -> Iterator[OutletSample]:
        """Every outlet's reading with the machine it feeds ("" if none)."""
        feeds = self.outlet_map
        for pdu, readings in self.readings.items():
            for r in readings:
                machine = feeds.get((pdu, r.outlet), "")
                yield OutletSample(pdu, r.outlet, machine, r.watts, r.amps, r.energy_kwh)


def snapshot_of(
    result: CycleResult | None, inventory: Inventory, health: Mapping[str, PduHealthState]
) -> Snapshot:
    """The readings of ``result`` for PDUs and machines still in ``inventory``."""
    outlet_map = inventory.outlet_map()
    by_pdu = {} if result is None else result.readings_by_pdu()
    readings = {pdu: rows for pdu, rows in by_pdu.items() if pdu in inventory.pdus}
    watts = {
        (pdu, r.outlet): r.watts
        for pdu, rows in readings.items()
        for r in rows
        if (pdu, r.outlet) in outlet_map
    }
    machines = []
    for machine in inventory.machines.values():
        feeds = [watts.get((ref.pdu, ref.label)) for ref in machine.outlets]
        known = [w for w in feeds if w is not None]
        total = sum(known) if known else None
        machines.append(MachineSample(machine.name, total, len(known) < len(feeds)))
    kept = {name: state for name, state in health.items() if name in inventory.pdus}
    return Snapshot(kept, readings, outlet_map, tuple(machines))


class _SnapshotCollector(Collector):
    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def describe(self) -> Iterable[Metric]:
        return []  # computed at scrape time; names are listed in the README

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot  # one reference: a concurrent replacement cannot tear it
        yield from _health_families(snap.health)
        yield from _outlet_families(snap.outlets)
        yield from _machine_families(snap.machines)


def _health_families(health: Mapping[str, PduHealthState]) -> Iterator[Metric]:
    by_state = GaugeMetricFamily("powermon_pdus", "PDUs by health state", labels=["state"])
    counts = dict.fromkeys(STATES, 0)
    for pdu in health.values():
        counts[pdu.state] += 1
    for state, count in counts.items():
        by_state.add_metric([state], count)
    up = GaugeMetricFamily("powermon_pdu_up", "1 if it answered the last cycle", labels=["pdu"])
    walk = GaugeMetricFamily(
        "powermon_pdu_walk_duration_seconds", "the PDU's last walk", labels=["pdu"]
    )
    failures = GaugeMetricFamily(
        "powermon_pdu_consecutive_failures", "failed cycles in a row", labels=["pdu"]
    )
    success = GaugeMetricFamily(
        "powermon_pdu_last_success_timestamp_seconds", "the last cycle it answered", labels=["pdu"]
    )
    for name, h in sorted(health.items()):
        up.add_metric([name], 1.0 if h.up else 0.0)
        failures.add_metric([name], h.failures)
        if h.walk_seconds is not None:
            walk.add_metric([name], h.walk_seconds)
        if h.last_success is not None:
            success.add_metric([name], h.last_success.timestamp())
    yield from (by_state, up, walk, failures, success)


def _outlet_families(outlets: Iterable[OutletSample]) -> Iterator[Metric]:
    labels = ["pdu", "outlet", "machine"]
    watts = GaugeMetricFamily("powermon_outlet_watts", "outlet active power", labels=labels)
    amps = GaugeMetricFamily("powermon_outlet_amps", "outlet current", labels=labels)
    energy = CounterMetricFamily(
        "powermon_outlet_energy_joules", "outlet energy counter, as the PDU keeps it", labels=labels
    )
    for o in outlets:
        key = [o.pdu, o.outlet, o.machine]
        if o.watts is not None:
            watts.add_metric(key, o.watts)
        if o.amps is not None:
            amps.add_metric(key, o.amps)
        if o.energy_kwh is not None:
            energy.add_metric(key, o.energy_kwh * JOULES_PER_KWH)
    yield from (watts, amps, energy)


def _machine_families(machines: Iterable[MachineSample]) -> Iterator[Metric]:
    watts = GaugeMetricFamily(
        "powermon_machine_watts", "sum of the machine's feeds that answered", labels=["machine"]
    )
    partial = GaugeMetricFamily(
        "powermon_machine_partial", "1 if a feed missed the last cycle", labels=["machine"]
    )
    for m in machines:
        if m.watts is not None:
            watts.add_metric([m.machine], m.watts)
        partial.add_metric([m.machine], 1.0 if m.partial else 0.0)
    yield from (watts, partial)


class Metrics:
    """The daemon's registry and the calls that update it."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` series: they double the counters' samples
        self.registry = CollectorRegistry(auto_describe=False)
        r = self.registry
        Info("powermon_build", "PowerMon version", registry=r).info({"version": __version__})
        self.cycle_seconds = Histogram(
            "powermon_cycle_duration_seconds", "poll and store of one cycle",
            buckets=CYCLE_BUCKETS, registry=r,
        )  # fmt: skip
        self.cycles = Counter("powermon_cycles", "cycles finished", registry=r)
        self.share = Gauge(
            "powermon_collector_share_pdus",
            "PDUs this collector polls: its share among the live collectors", registry=r,
        )  # fmt: skip
        self.collectors_live = Gauge(
            "powermon_collectors_live", "live collectors on the database", registry=r
        )
        self.interval = Gauge(
            "powermon_collector_interval_seconds", "[collector] interval", registry=r
        )
        self.last_end = Gauge(
            "powermon_cycle_last_end_timestamp_seconds", "when the last cycle ended", registry=r
        )
        self.last_scheduled = Gauge(
            "powermon_cycle_last_scheduled_timestamp_seconds",
            "the scheduled time of the last cycle (its readings carry it)", registry=r,
        )  # fmt: skip
        self.snmp_errors = Counter(
            "powermon_snmp_errors", "failed PDU walks by kind", ["kind"], registry=r
        )
        for kind in ERROR_KINDS:
            self.snmp_errors.labels(kind)
        self.readings_stored = Counter(
            "powermon_readings_stored", "readings written to the database", registry=r
        )
        self.db_seconds = Histogram(
            "powermon_database_write_duration_seconds", "writing one cycle (spool included)",
            buckets=DB_BUCKETS, registry=r,
        )  # fmt: skip
        self.db_up = Gauge(
            "powermon_database_up", "1 if the last cycle reached the database", registry=r
        )
        self.spool_cycles = Gauge("powermon_spool_cycles", "cycles waiting", registry=r)
        self.spool_bytes = Gauge("powermon_spool_bytes", "bytes of the spool files", registry=r)
        self.rrd_rows = Counter("powermon_rrd_import_rows", "load rows imported", registry=r)
        self.rrd_errors = Counter(
            "powermon_rrd_import_errors", "machines (or runs) whose import failed", registry=r
        )
        self.reloads = Counter(
            "powermon_config_reloads", "configuration reloads", ["result"], registry=r
        )
        for result in ("ok", "failed"):
            self.reloads.labels(result)
        self.last_reload = Gauge(
            "powermon_config_last_reload_timestamp_seconds", "the last reload", registry=r
        )
        self.last_reload_ok = Gauge(
            "powermon_config_last_reload_successful", "1 if the last reload was applied",
            registry=r,
        )  # fmt: skip
        self.last_reload_ok.set(1)
        # The state families are most of the text (per outlet) and change once per cycle:
        # rendered at the first scrape after a cycle, then served from the cache.
        self._state = _SnapshotCollector()
        self._state_registry = CollectorRegistry(auto_describe=False)
        self._state_registry.register(self._state)
        self._rendered: tuple[Snapshot, bytes] | None = None
        self._render_lock = threading.Lock()

    def register(self, collector: Collector) -> None:
        """Add families of another module (scraped with the rest)."""
        self.registry.register(collector)

    def publish(self, snapshot: Snapshot) -> None:
        self._state.snapshot = snapshot

    @property
    def snapshot(self) -> Snapshot:
        return self._state.snapshot

    def cycle_done(self, result: CycleResult, duration: float, added: int | None) -> None:
        self.cycles.inc()
        self.cycle_seconds.observe(duration)
        self.last_scheduled.set(result.cycle.timestamp())
        self.last_end.set_to_current_time()
        for failed in result.errors:
            self.snmp_errors.labels(error_kind(failed.error or "")).inc()
        if added:
            self.readings_stored.inc(added)

    def reloaded(self, ok: bool) -> None:
        self.reloads.labels("ok" if ok else "failed").inc()
        self.last_reload.set_to_current_time()
        self.last_reload_ok.set(1 if ok else 0)

    def exposition(self) -> bytes:
        """The text of a scrape (thread-safe: the server calls it in a worker thread)."""
        return generate_latest(self.registry) + self._state_text()

    def _state_text(self) -> bytes:
        with self._render_lock:
            snapshot = self._state.snapshot
            if self._rendered is None or self._rendered[0] is not snapshot:
                self._rendered = (snapshot, generate_latest(self._state_registry))
            return self._rendered[1]
