"""Ganglia RRD files -> load averages per time bucket (synchronous; run it off the event loop).

gmetad writes ``<root>/<cluster>/<host>/load_{one,five,fifteen}.rrd``, one DS ``sum`` each
(GANGLIA-RRD-FACTS.md). ``rrdtool fetch -r`` does not resample: it returns rows of whichever
RRA it picks (15 s, 1 min, 6 min, 10 min...). This module averages those rows to buckets of
``resolution`` seconds aligned to epoch multiples:

* A bucket is labelled with its END time and covers ``(T - resolution, T]``. That is rrdtool's
  own convention (a row at T summarises the step before T) and it puts load on the same
  wall-clock multiples as the power cycles, which carry their scheduled time.
* Each RRD row is a constant over its step; a bucket's value is the time-weighted mean of the
  known rows it overlaps (rows wider than a bucket, e.g. 6-min rows of pre-3.3 files, are
  split by overlap). It is known only if known rows cover at least :data:`MIN_COVERAGE` of it,
  the same 0.5 "xff" gmetad gives its RRAs; otherwise it is NaN, never 0.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rrdtool

from powermond.readings import LoadSample

#: File name stems of the three load metrics, in LoadSample order (load1, load5, load15).
METRICS = ("load_one", "load_five", "load_fifteen")
DS_NAME = "sum"
#: Fraction of a bucket that known rows must cover for the bucket to be known.
MIN_COVERAGE = 0.5
SUMMARY_DIR = "__SummaryInfo__"
RRDCACHED_DEFAULT_PORT = 42217

FloatArray = npt.NDArray[np.float64]


class RrdError(Exception):
    """A machine's RRD files cannot be located or read; the message names the path."""


@dataclass(frozen=True, slots=True)
class HostIndex:
    """Host directories under the RRD root by lower-case host name (one scan per import run)."""

    root: Path
    hosts: Mapping[str, tuple[Path, ...]]
    #: Directories by the lower-case short name (first DNS label) of fully qualified hosts.
    short: Mapping[str, tuple[Path, ...]]

    @classmethod
    def scan(cls, root: Path) -> HostIndex:
        """Read ``<root>/<cluster>/<host>`` directories; an absent root gives an empty index."""
        hosts: dict[str, list[Path]] = {}
        short: dict[str, list[Path]] = {}
        for cluster in _subdirs(root):
            for host in _subdirs(Path(cluster.path)):
                name = host.name.lower()
                hosts.setdefault(name, []).append(Path(host.path))
                if "." in name:
                    short.setdefault(name.split(".", 1)[0], []).append(Path(host.path))
        return cls(
            root,
            {k: tuple(sorted(v)) for k, v in hosts.items()},
            {k: tuple(sorted(v)) for k, v in short.items()},
        )

    def locate(self, machine: str, rrd: str | None = None) -> Path | None:
        """The machine's host directory; ``None`` when Ganglia does not know it.

        ``rrd`` (``<cluster>/<host>`` from machines.toml) wins; otherwise the machine name
        is looked up case-insensitively under every cluster. ``wn001.example.org`` also finds
        a directory ``wn001`` and ``wn001`` finds ``wn001.example.org``, because gmond reports
        whatever name the host gives itself. Two matches raise :class:`RrdError`.
        """
        if rrd:
            path = self.root / rrd
            if not path.is_dir():
                raise RrdError(f"configured rrd directory {path} does not exist")
            return path
        name = machine.lower()
        matches = self.hosts.get(name)
        if not matches:
            matches = self.hosts.get(name.split(".", 1)[0]) if "." in name else self.short.get(name)
        if not matches:
            return None
        if len(matches) > 1:
            listed = " and ".join(str(p) for p in matches)
            raise RrdError(f"host {machine} is ambiguous: found {listed}; set `rrd` for it")
        return matches[0]


def _subdirs(path: Path) -> Iterable[os.DirEntry[str]]:
    try:
        with os.scandir(path) as entries:
            found = [e for e in entries if e.name != SUMMARY_DIR and e.is_dir()]
    except FileNotFoundError:
        return []
    return found


@dataclass(frozen=True, slots=True)
class Window:
    """Buckets to import: END labels ``after + resolution * k`` for k = 1..count (epoch s)."""

    after: int
    resolution: int
    count: int

    @property
    def end(self) -> int:
        return self.after + self.resolution * self.count

    def labels(self) -> npt.NDArray[np.int64]:
        return self.after + self.resolution * np.arange(1, self.count + 1, dtype=np.int64)

    def edges(self) -> FloatArray:
        return self.after + self.resolution * np.arange(self.count + 1, dtype=np.float64)


def make_window(since: datetime, until: datetime, resolution: int) -> Window:
    """Buckets that start at or after ``since`` and end at or before ``until``."""
    after = math.ceil(since.timestamp() / resolution) * resolution
    end = math.floor(until.timestamp() / resolution) * resolution
    return Window(after, resolution, max(0, (end - after) // resolution))


@dataclass(frozen=True, slots=True)
class Series:
    """One metric's rows as fetched: row i covers ``(start + i*step, start + (i+1)*step]``."""

    start: int
    step: int
    values: FloatArray


def fetch_series(path: Path, window: Window, daemon: str | None = None) -> Series:
    """The ``sum`` DS of one RRD over the window; raises :class:`RrdError` naming the file."""
    args = [str(path), "AVERAGE", "-r", str(window.resolution)]
    args += ["-s", str(window.after), "-e", str(window.end)]
    if daemon:
        # Through rrdcached the daemon flushes the file's pending updates before answering.
        args += ["--daemon", daemon]
    try:
        (start, _end, step), names, rows = rrdtool.fetch(*args)
    except rrdtool.OperationalError as exc:
        raise RrdError(f"{path}: {exc}") from None
    if DS_NAME not in names:
        raise RrdError(f"{path}: no data source {DS_NAME!r} (has {', '.join(names)})")
    column = names.index(DS_NAME)
    # None (unknown) becomes NaN in a float array.
    values = np.array([row[column] for row in rows], dtype=np.float64)
    return Series(int(start), int(step), values)


def bucket_means(
    start: int, step: int, values: FloatArray, edges: FloatArray, min_coverage: float = MIN_COVERAGE
) -> FloatArray:
    """Time-weighted means of row columns over buckets; NaN where coverage is too low.

    ``values`` is ``(rows, series)``: several series on the same row grid at once, so a whole
    batch of machines costs a few array operations. Row boundaries and bucket edges cut time
    into pieces that each lie in one row and one bucket; a bucket sums its own pieces only
    (no running totals), so a constant input averages to exactly that constant.
    """
    rows, width = values.shape
    if len(edges) < 2:
        return np.empty((0, width))
    boundaries = start + step * np.arange(rows + 1, dtype=np.float64)
    inside = boundaries[(boundaries > edges[0]) & (boundaries < edges[-1])]
    cuts = np.union1d(edges, inside)
    length = np.diff(cuts)
    row = np.floor((cuts[:-1] + length / 2 - start) / step).astype(np.int64)
    in_rows = (row >= 0) & (row < rows)
    piece_values = np.full((len(length), width), np.nan)
    piece_values[in_rows] = values[row[in_rows]]
    known = ~np.isnan(piece_values)
    # Every bucket starts a piece, because its edges are among the cuts.
    first_piece = np.searchsorted(cuts, edges[:-1])
    area = np.add.reduceat(np.where(known, piece_values, 0.0) * length[:, None], first_piece)
    cover = np.add.reduceat(known * length[:, None], first_piece)
    enough = cover >= min_coverage * np.diff(edges)[:, None]
    return np.where(enough, area / np.where(enough, cover, 1.0), np.nan)


@dataclass(frozen=True, slots=True)
class MachineLoad:
    """One machine's result: buckets ``(count, 3)`` over ``window``, or an error."""

    machine: str
    window: Window
    directory: Path | None = None
    means: FloatArray | None = None
    error: str | None = None

    def cells(self) -> list[tuple[int, float | None, float | None, float | None]]:
        """``(epoch, load1, load5, load15)`` of buckets where at least one metric is known;
        unknown metrics are ``None`` (NULL in the database, never 0)."""
        if self.means is None:
            return []
        keep: npt.NDArray[np.bool_] = ~np.all(np.isnan(self.means), axis=1)
        kept = self.means[keep]
        values = kept.astype(object)
        values[np.isnan(kept)] = None
        times = self.window.labels()[keep].tolist()
        return [(t, *row) for t, row in zip(times, values.tolist(), strict=True)]

    def samples(self) -> list[LoadSample]:
        return [LoadSample(datetime.fromtimestamp(t, UTC), *loads) for t, *loads in self.cells()]


def read_machines(
    jobs: Sequence[tuple[str, Path, Window]], daemon: str | None = None
) -> list[MachineLoad]:
    """Fetch and average the three load metrics of several machines (one batch).

    A machine whose files cannot all be read gets an error and no buckets: storing two of
    three metrics would move its last stored time past buckets the missing file still holds.
    """
    results: list[MachineLoad] = []
    fetched: list[tuple[int, list[Series]]] = []
    for machine, directory, window in jobs:
        try:
            series = [fetch_series(directory / f"{m}.rrd", window, daemon) for m in METRICS]
        except RrdError as exc:
            results.append(MachineLoad(machine, window, directory, error=str(exc)))
            continue
        fetched.append((len(results), series))
        results.append(MachineLoad(machine, window, directory))
    _average_batch(results, fetched)
    return results


def _average_batch(results: list[MachineLoad], fetched: list[tuple[int, list[Series]]]) -> None:
    """Fill ``results`` in place: one :func:`bucket_means` call per shared row grid."""
    groups: dict[tuple[int, int, int, Window], list[tuple[int, int, FloatArray]]] = {}
    for slot, series in fetched:
        window = results[slot].window
        for metric, s in enumerate(series):
            key = (s.start, s.step, len(s.values), window)
            groups.setdefault(key, []).append((slot, metric, s.values))
    means = {slot: np.full((results[slot].window.count, 3), np.nan) for slot, _ in fetched}
    for (start, step, _rows, window), members in groups.items():
        stacked = np.column_stack([values for _, _, values in members])
        averaged = bucket_means(start, step, stacked, window.edges())
        for column, (slot, metric, _) in enumerate(members):
            means[slot][:, metric] = averaged[:, column]
    for slot, array in means.items():
        old = results[slot]
        results[slot] = MachineLoad(old.machine, old.window, old.directory, means=array)


def rrdcached_problem(address: str, timeout: float = 2.0) -> str | None:
    """Why rrdcached at ``address`` cannot be reached, or ``None`` when it answers a connect.

    Addresses as rrdtool takes them: ``unix:/path``, ``/path``, ``host``, ``host:port``,
    ``[v6]:port``.
    """
    try:
        if address.startswith("unix:") or address.startswith("/"):
            path = address.removeprefix("unix:")
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                sock.connect(path)
        else:
            host, port = _host_port(address)
            socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        return f"rrdcached at {address} is not reachable: {exc.strerror or exc}"
    return None


def _host_port(address: str) -> tuple[str, int]:
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        return host, int(rest.lstrip(":") or RRDCACHED_DEFAULT_PORT)
    host, _, port = address.partition(":")
    return host, int(port or RRDCACHED_DEFAULT_PORT)
