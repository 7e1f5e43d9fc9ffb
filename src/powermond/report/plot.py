"""Drawing :class:`~powermond.report.plotdata.MachinePlot` with matplotlib (Agg, no pyplot).

The only module that imports matplotlib; import it only where a plot is drawn, because
matplotlib takes about half a second to import.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before anything else of matplotlib: never a display

import matplotlib.dates as mdates
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from powermond.report.plotdata import MachinePlot, Series

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
WIDTH_IN, HEIGHT_IN, DPI = 12.0, 4.5, 100  # 1200 x 450 pixels per machine in PNG
POWER_COLOR = "black"
FEED_COLORS = ("tab:blue", "tab:cyan", "tab:purple", "tab:green")  # cool: power
LOAD_COLORS = ("tab:red", "tab:orange", "tab:brown")  # warm and dashed: load


def pixel_size(machines: int) -> tuple[int, int]:
    """Width and height of a PNG with one panel per machine."""
    return round(WIDTH_IN * DPI), round(HEIGHT_IN * DPI * machines)


def build_figure(plots: Sequence[MachinePlot]) -> Figure:
    """One panel per machine: power (W) on the left axis, load on the right."""
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN * len(plots)), dpi=DPI, layout="constrained")
    axes = figure.subplots(len(plots), 1, squeeze=False)[:, 0]
    for ax, plot in zip(axes, plots, strict=True):
        _draw(ax, plot)
    return figure


def save(figure: Figure, path: Path) -> None:
    figure.savefig(path, format=FORMATS[path.suffix.lower()], dpi=DPI)


def _times(series: Series) -> np.ndarray:
    # datetime64 (naive UTC) converts much faster than aware datetime objects.
    return np.array([t.replace(tzinfo=None) for t in series.times], dtype="datetime64[s]")


def _draw(ax: Axes, plot: MachinePlot) -> None:
    for i, series in enumerate(plot.feeds):
        color = FEED_COLORS[i % len(FEED_COLORS)]
        ax.plot(_times(series), series.values, color=color, linewidth=0.8, label=series.label)
    ax.plot(
        _times(plot.total),
        plot.total.values,
        color=POWER_COLOR,
        linewidth=1.0,
        label=f"{plot.total.label}: mean {_watts(plot.mean_watts)}, peak {_watts(plot.peak_watts)}",
    )
    if plot.peak is not None:
        ax.plot(
            _times(plot.peak), plot.peak.values, color="grey", linewidth=0.5, label=plot.peak.label
        )
    ax.set_ylabel("power (W)")
    ax.set_ylim(bottom=0)
    load_ax = ax.twinx()
    for series, color in zip(plot.load, LOAD_COLORS, strict=False):
        load_ax.plot(
            _times(series),
            series.values,
            color=color,
            linewidth=0.8,
            linestyle="--",
            label=series.label,
        )
    load_ax.set_ylabel("load average")
    load_ax.set_ylim(bottom=0)
    # Power in front of load: the twin axes would otherwise be drawn over it.
    ax.set_zorder(load_ax.get_zorder() + 1)
    ax.patch.set_visible(False)
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    formatter = mdates.ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(formatter)
    edges = _times(Series("", [plot.since, plot.until], []))
    ax.set_xlim(edges[0], edges[1])
    ax.grid(True, linewidth=0.3)
    handles, labels = ax.get_legend_handles_labels()
    load_handles, load_labels = load_ax.get_legend_handles_labels()
    ax.legend(
        handles + load_handles,
        labels + load_labels,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.1),
        ncol=4,
        fontsize="small",
        frameon=False,
    )
    span = f"{plot.since:%Y-%m-%d %H:%M} to {plot.until:%Y-%m-%d %H:%M} UTC"
    per = "hourly means" if plot.resolution == "hour" else "every cycle"
    ax.set_title(f"{plot.machine}: {span} ({per})")


def _watts(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} W"
