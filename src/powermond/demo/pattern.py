"""The simulated machines' load and power over time, and how snmpsim serves them.

Values the simulated PDUs serve change with time through snmpsim's ``numeric`` variation
module, which computes ``initial + scale * f(rate * t) + offset`` per request, with ``t`` the
wall-clock epoch (``atime``) and ``f`` one function from :mod:`math`. That shapes the pattern:

* A machine's load is a :class:`Wave`, ``mean + amplitude * ±sin|cos(2πt / period)``, and its
  watts are ``idle + watts_per_load * load``: a wave again, which snmpsim can serve exactly.
* The energy counter is linear in time at the outlet's *mean* watts (``f`` is the identity).
  snmpsim cannot integrate a wave, so within a period the counter runs ahead or behind the
  watts by at most ``amplitude * period / 2π``; over any whole period (every period here divides
  a day) it equals the integral of the watts exactly.

:class:`Numeric` mirrors snmpsim's arithmetic step by step so that the demo's back-fill and
the tests know the exact integer the agent answers at any time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Shape = Literal["sin", "cos"]

DAY = 86400.0
VOLTS = 230.0  # single-phase European outlet; amps = watts / VOLTS
#: The simulated PDUs' energy counters count from this time (2024-01-01T00:00:00Z).
COUNTERS_START = 1704067200.0
_UNSIGNED_MAX = 0xFFFFFFFF  # snmpsim's default ``max`` for 32-bit types


@dataclass(frozen=True, slots=True)
class Wave:
    """``mean + amplitude * sign * shape(2π t / period)``; ``t`` in epoch seconds."""

    mean: float
    amplitude: float
    period: float = DAY
    shape: Shape = "sin"
    sign: int = 1

    @property
    def rate(self) -> float:
        """Radians per second, snmpsim's ``rate``."""
        return 2 * math.pi / self.period

    def at(self, t: float) -> float:
        return self.mean + self.amplitude * self.sign * _FUNCTIONS[self.shape](t * self.rate)

    def scaled(self, factor: float) -> Wave:
        return Wave(self.mean * factor, self.amplitude * factor, self.period, self.shape, self.sign)


_FUNCTIONS = {"sin": math.sin, "cos": math.cos}


@dataclass(frozen=True, slots=True)
class Numeric:
    """One snmpsim ``numeric`` variation: the value string and the integer served at ``t``."""

    rate: float
    function: Shape | None = None  # None: the identity, so the value is linear in time
    scale: float | None = None
    offset: float | None = None
    initial: float = 0.0

    @classmethod
    def wave(cls, wave: Wave, factor: float) -> Numeric:
        """The wave in raw device units (``factor`` raw units per SI unit)."""
        return cls(
            rate=wave.rate,
            function=wave.shape,
            scale=wave.amplitude * wave.sign * factor,
            offset=wave.mean * factor,
        )

    @classmethod
    def counter(cls, mean_watts: float, factor_per_kwh: float) -> Numeric:
        """An energy counter at ``mean_watts`` since :data:`COUNTERS_START`, in raw units."""
        per_second = mean_watts / 1000.0 / 3600.0 * factor_per_kwh
        return cls(rate=per_second, initial=-per_second * COUNTERS_START)

    def render(self) -> str:
        """The ``.snmprec`` value after ``TAG:numeric|`` (repr keeps floats exact)."""
        parts = [f"rate={self.rate!r}"]
        if self.function is not None:
            parts.insert(0, f"function={self.function}")
        if self.scale is not None:
            parts.append(f"scale={self.scale!r}")
        if self.offset is not None:
            parts.append(f"offset={self.offset!r}")
        if self.initial:
            parts.append(f"initial={self.initial!r}")
        parts.append("atime=1")  # absolute time: the same value whenever the agent started
        return ",".join(parts)

    def at(self, t: float) -> int:
        """What snmpsim 1.2 serves at ``t``: the same operations in the same order."""
        x = t * self.rate
        value = _FUNCTIONS[self.function](x) if self.function is not None else x
        if self.scale is not None:
            value *= self.scale
        if self.offset is not None:
            value += self.offset
        value += self.initial
        # snmpsim clamps to [min, max] (0 and 2^32-1 by default); pyasn1 truncates to int.
        return int(min(max(value, 0.0), _UNSIGNED_MAX))


@dataclass(frozen=True, slots=True)
class MachineModel:
    """A simulated machine: its load, how its power follows it, and where it is plugged in."""

    name: str
    cluster: str  # the Ganglia cluster directory its RRD files live in
    feeds: tuple[tuple[str, int], ...]  # (pdu name, outlet number); power splits evenly
    load: Wave
    idle_watts: float = 120.0
    watts_per_load: float = 20.0

    def load_at(self, t: float) -> float:
        return self.load.at(t)

    def watts_at(self, t: float) -> float:
        return self.idle_watts + self.watts_per_load * self.load_at(t)

    @property
    def watts(self) -> Wave:
        """The machine's total power as a wave (linear in load, so a wave too)."""
        mean = self.idle_watts + self.watts_per_load * self.load.mean
        amplitude = self.watts_per_load * self.load.amplitude
        return Wave(mean, amplitude, self.load.period, self.load.shape, self.load.sign)

    @property
    def feed_watts(self) -> Wave:
        """Each feed's share: redundant power supplies split the load evenly."""
        return self.watts.scaled(1.0 / len(self.feeds))
