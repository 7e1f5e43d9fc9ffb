"""Drawing :class:`~powermond.report.plotdata.MachinePlot` with matplotlib (Agg, no pyplot).

Two views, one machine under the other:

* ``time`` (default): power on top (the machine's total thick, each feed thinner), load below
  in its own panel sharing the time axis. A missing or partial cycle breaks the line; a point
  with no neighbour to join is drawn as a marker, so a lone reading is never invisible.
* ``scatter``: the machine's watts against its load over the period, with a straight-line
  fit: its value at load 0 is the idle power, its slope the watts each unit of load costs
  (:mod:`powermond.report.scatter`).

Lines carry stable SVG ids (``set_gid``), so tests and tools find them: ``power-total``,
``power-peak``, ``feed-<pdu>-<outlet>``, ``load-1`` / ``load-5`` / ``load-15``, and
``scatter-points`` / ``scatter-fit`` (over the data; ``scatter-fit-to-idle`` carries it to
load 0). A figure of several machines prefixes each id with the
machine's name and a dash (``db01-power-total``). Characters an XML id cannot hold become
``_``.

The only modules that import matplotlib are this one and ``scatter``; import them only where a
plot is drawn, because matplotlib takes about half a second to import.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")  # before anything else of matplotlib: never a display

import matplotlib.dates as mdates
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from powermond.report.plotdata import MachinePlot, Series

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
KINDS = ("time", "scatter")
LOADS = (1, 5, 15)  # the order of MachinePlot.load
DEFAULT_LOADS = (5,)
WIDTH_IN, HEIGHT_IN, DPI = 12.0, 6.0, 100  # 1200 x 600 pixels per machine in PNG
POWER_RATIO, LOAD_RATIO = 3, 2  # heights of the power and load panels
TOTAL_COLOR = "black"
FEED_COLORS = ("tab:blue", "tab:cyan", "tab:purple", "tab:green")
# A and B feeds often draw the same values: dashes keep both visible.
FEED_STYLES: tuple[Literal["-", "--", "-.", ":"], ...] = ("-", "--", "-.", ":")
LOAD_COLORS = {1: "tab:orange", 5: "tab:red", 15: "tab:brown"}
_NOT_IN_ID = re.compile(r"[^A-Za-z0-9._-]")


def pixel_size(machines: int) -> tuple[int, int]:
    """Width and height of a PNG with one machine's panels per ``machines``."""
    return round(WIDTH_IN * DPI), round(HEIGHT_IN * DPI * machines)


def build_figure(
    plots: Sequence[MachinePlot], *, loads: Sequence[int] = DEFAULT_LOADS, kind: str = "time"
) -> Figure:
    """One machine under the other; ``loads`` picks the load averages (1, 5, 15 minutes)."""
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN * len(plots)), dpi=DPI, layout="constrained")
    several = len(plots) > 1
    if kind == "scatter":
        from powermond.report.scatter import draw_scatter

        axes = figure.subplots(len(plots), 1, squeeze=False)[:, 0]
        for ax, plot in zip(axes, plots, strict=True):
            draw_scatter(ax, plot, loads[0], _prefix(plot, several))
        return figure
    ratios = [POWER_RATIO, LOAD_RATIO] * len(plots)
    grid = figure.add_gridspec(2 * len(plots), 1, height_ratios=ratios)
    for i, plot in enumerate(plots):
        power_ax = figure.add_subplot(grid[2 * i])
        load_ax = figure.add_subplot(grid[2 * i + 1], sharex=power_ax)
        prefix = _prefix(plot, several)
        _draw_power(power_ax, plot, prefix)
        _draw_load(load_ax, plot, loads, prefix)
        _time_axis(power_ax, load_ax, plot)
        power_ax.set_title(title(plot, loads[0]), loc="left", fontsize="medium")
    return figure


def save(figure: Figure, path: Path) -> None:
    # SVG text as text, not glyph paths: tools can read the figures written on the plot.
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        figure.savefig(path, format=FORMATS[path.suffix.lower()], dpi=DPI)


def svg_id(text: str) -> str:
    return _NOT_IN_ID.sub("_", text)


def _prefix(plot: MachinePlot, several: bool) -> str:
    return f"{svg_id(plot.machine)}-" if several else ""


def times64(series: Series) -> np.ndarray:
    # datetime64 (naive UTC) converts much faster than aware datetime objects.
    return np.array([t.replace(tzinfo=None) for t in series.times], dtype="datetime64[s]")


def mean_load(plot: MachinePlot, minutes: int) -> float | None:
    values = np.asarray(plot.load[LOADS.index(minutes)].values, dtype=float)
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else None


def title(plot: MachinePlot, minutes: int) -> str:
    """Two lines: the machine and the period, then what an operator quotes from it."""
    span = f"{_when(plot.since)} to {_when(plot.until)} UTC"
    figures = [
        f"energy {_number(plot.energy_kwh, 'kWh', 2)}",
        f"mean {_number(plot.mean_watts, 'W', 0)}",
        f"peak {_number(plot.peak_watts, 'W', 0)}",
        f"mean load ({minutes} min) {_number(mean_load(plot, minutes), '', 2)}",
    ]
    return f"{plot.machine}, {span}\n" + " · ".join(figures)


def feed_name(label: str) -> tuple[str, str, str]:
    """``"rack-a1:8"`` -> (pdu, outlet, legend text ``"rack-a1 outlet 8"``)."""
    pdu, _, outlet = label.partition(":")
    what = outlet if outlet.startswith("inlet") else f"outlet {outlet}"
    return pdu, outlet, f"{pdu} {what}"


def _draw_power(ax: Axes, plot: MachinePlot, prefix: str) -> None:
    for i, series in enumerate(plot.feeds):
        pdu, outlet, name = feed_name(series.label)
        color = FEED_COLORS[i % len(FEED_COLORS)]
        gid = f"{prefix}feed-{svg_id(pdu)}-{svg_id(outlet)}"
        line = _line(ax, series, gid, name, color, 0.9, _shift(plot))
        line.set_linestyle(FEED_STYLES[i % len(FEED_STYLES)])
    if plot.peak is not None:
        _line(ax, plot.peak, f"{prefix}power-peak", "highest cycle of each hour", "grey", 0.6,
              _shift(plot))  # fmt: skip
    total = "total (hourly averages)" if plot.resolution == "hour" else "total"
    _line(ax, plot.total, f"{prefix}power-total", total, TOTAL_COLOR, 1.8, _shift(plot))
    ax.set_ylabel("power (W)")
    ax.set_ylim(bottom=0, top=_top(plot.total, plot.peak, *plot.feeds))
    if not any(np.isfinite(plot.total.values)):
        _say_empty(ax, "no power readings in this period")
    ax.grid(True, linewidth=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)


def _draw_load(ax: Axes, plot: MachinePlot, loads: Sequence[int], prefix: str) -> None:
    for minutes in loads:
        series = plot.load[LOADS.index(minutes)]
        label = f"{minutes}-minute average"
        _line(ax, series, f"{prefix}load-{minutes}", label, LOAD_COLORS[minutes], 1.2,
              _shift(plot))  # fmt: skip
    ax.set_ylabel("load average")
    ax.set_ylim(bottom=0, top=_top(*(plot.load[LOADS.index(m)] for m in loads)))
    if not any(np.isfinite(plot.load[LOADS.index(m)].values).any() for m in loads):
        _say_empty(ax, "no load samples in this period")
    ax.grid(True, linewidth=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)


def _shift(plot: MachinePlot) -> np.timedelta64:
    """Hourly figures are labelled by the hour's start; they are drawn at its middle."""
    return np.timedelta64(1800 if plot.resolution == "hour" else 0, "s")


def _line(
    ax: Axes,
    series: Series,
    gid: str,
    label: str,
    color: str,
    width: float,
    shift: np.timedelta64,
) -> Line2D:
    """One line; points with no finite neighbour get a marker (a line cannot show them)."""
    lone = isolated(series.values)
    (line,) = ax.plot(
        times64(series) + shift,
        series.values,
        color=color,
        linewidth=width,
        label=label,
        marker="o" if lone else None,
        markersize=max(2.5, 2 * width),
        markevery=lone or None,
    )
    line.set_gid(gid)
    return line


def isolated(values: Sequence[float]) -> list[int]:
    """Indices of finite values whose neighbours are both missing (NaN or the edge)."""
    finite = [not math.isnan(v) for v in values]
    last = len(values) - 1
    return [
        i
        for i, here in enumerate(finite)
        if here and (i == 0 or not finite[i - 1]) and (i == last or not finite[i + 1])
    ]


def _top(*series: Series | None) -> float:
    """Some headroom above the highest value, so the top line does not touch the frame."""
    highest = [np.nanmax(s.values) for s in series if s is not None and np.isfinite(s.values).any()]
    return 1.1 * float(max(highest)) if highest and max(highest) > 0 else 1.0


def _say_empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="grey")


def _time_axis(power_ax: Axes, load_ax: Axes, plot: MachinePlot) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)  # type: ignore[no-untyped-call]
    # No offset text ("2026-Dec-01" under the last tick): the title says the dates.
    formatter = mdates.ConciseDateFormatter(  # type: ignore[no-untyped-call]
        locator,
        formats=["%Y", "%b %Y", "%d %b", "%H:%M", "%H:%M", "%S.%f"],
        zero_formats=["", "%Y", "%b %Y", "%d %b", "%H:%M", "%H:%M"],
        show_offset=False,
    )
    load_ax.xaxis.set_major_locator(locator)
    load_ax.xaxis.set_major_formatter(formatter)
    power_ax.tick_params(labelbottom=False)
    edges = times64(Series("", [plot.since, plot.until], []))
    load_ax.set_xlim(edges[0], edges[1])
    load_ax.set_xlabel("time (UTC)")


def _when(time: datetime) -> str:
    return f"{time.day} {time:%b %Y %H:%M}"


def _number(value: float | None, unit: str, decimals: int) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{decimals}f} {unit}".strip()
