"""``powermon plot --kind scatter``: a machine's watts against its load, and what they cost.

Each load sample is paired with the machine's mean total power over the time that sample
averages (the bucket it closes: ``(t - step, t]``, ``step`` the spacing of the samples), so a
60-second collector and 5-minute load buckets pair as well as equal spacings. A straight
line fitted by least squares answers the design's question "was it worth it": its value at
load 0 is the machine's idle power, its slope the watts each unit of load adds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes

from powermond.report.plot import LOAD_COLORS, LOADS, TOTAL_COLOR, times64, title
from powermond.report.plotdata import MachinePlot, Series


@dataclass(frozen=True, slots=True)
class Fit:
    """``watts = idle_watts + watts_per_load * load`` over ``points`` pairs."""

    idle_watts: float
    watts_per_load: float
    r_squared: float
    points: int

    def at(self, load: np.ndarray) -> np.ndarray:
        watts: np.ndarray = self.idle_watts + self.watts_per_load * load
        return watts


def pairs(power: Series, load: Series) -> tuple[np.ndarray, np.ndarray]:
    """(load, watts) arrays: each finite load sample with the mean power of its bucket."""
    load_t, load_v = times64(load), np.asarray(load.values, dtype=float)
    power_t, power_v = times64(power), np.asarray(power.values, dtype=float)
    keep = np.isfinite(power_v)
    power_t, power_v = power_t[keep], power_v[keep]
    keep = np.isfinite(load_v)
    load_t, load_v = load_t[keep], load_v[keep]
    if not load_t.size or not power_t.size:
        return np.empty(0), np.empty(0)
    steps = np.diff(load_t)
    step = np.median(steps) if steps.size else np.timedelta64(0, "s")
    high = np.searchsorted(power_t, load_t, side="right")
    low = np.searchsorted(power_t, load_t - step, side="right")
    if step == np.timedelta64(0, "s"):  # a single sample: the reading at its time
        low = np.searchsorted(power_t, load_t, side="left")
    sums = np.concatenate(([0.0], np.cumsum(power_v)))
    counts = high - low
    found = counts > 0
    means = (sums[high[found]] - sums[low[found]]) / counts[found]
    return load_v[found], means


def fit(load: np.ndarray, watts: np.ndarray) -> Fit | None:
    """The least-squares line, or None when the load never varied (no slope to find)."""
    if load.size < 2 or np.ptp(load) == 0:
        return None
    slope, intercept = np.polyfit(load, watts, 1)
    residual = watts - (intercept + slope * load)
    spread = float(np.sum((watts - watts.mean()) ** 2))
    r_squared = 1.0 - float(np.sum(residual**2)) / spread if spread else 1.0
    return Fit(float(intercept), float(slope), r_squared, int(load.size))


def draw_scatter(ax: Axes, plot: MachinePlot, minutes: int, prefix: str) -> Fit | None:
    load, watts = pairs(plot.total, plot.load[LOADS.index(minutes)])
    points = ax.scatter(load, watts, s=16, color=LOAD_COLORS[minutes], alpha=0.7, linewidths=0)
    points.set_gid(f"{prefix}scatter-points")
    found = fit(load, watts)
    if found is not None:
        seen = np.array([float(load.min()), float(load.max())])
        (line,) = ax.plot(seen, found.at(seen), color=TOTAL_COLOR)
        line.set_gid(f"{prefix}scatter-fit")
        # Dashed down to load 0: the idle watts are the line carried past the data.
        below = np.array([0.0, seen[0]])
        (idle,) = ax.plot(below, found.at(below), color=TOTAL_COLOR, linestyle="--", linewidth=1)
        idle.set_gid(f"{prefix}scatter-fit-to-idle")
        ax.text(0.02, 0.97, _fit_text(found, minutes), transform=ax.transAxes, va="top",
                bbox={"facecolor": "white", "edgecolor": "lightgrey"})  # fmt: skip
    elif load.size:
        ax.text(0.02, 0.97, "the load did not vary: no line to fit", transform=ax.transAxes,
                va="top", color="grey")  # fmt: skip
    else:
        ax.text(0.5, 0.5, "no cycle with both power and load in this period",
                transform=ax.transAxes, ha="center", va="center", color="grey")  # fmt: skip
    ax.set_xlabel(f"load average ({minutes} min)")
    ax.set_ylabel("power (W)")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(True, linewidth=0.3)
    ax.set_title(title(plot, minutes), loc="left", fontsize="medium")
    return found


def _fit_text(found: Fit, minutes: int) -> str:
    return (
        f"idle (load 0): {found.idle_watts:,.0f} W\n"
        f"each unit of load ({minutes} min): {found.watts_per_load:+,.1f} W\n"
        f"fit over {found.points:,} samples, r² = {found.r_squared:.2f}"
    )
