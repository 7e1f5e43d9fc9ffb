"""The figure ``powermon plot`` draws: panels, SVG ids, gaps and lone points, the scatter fit."""

from __future__ import annotations

import asyncio
import math
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from powermond.cli import main
from powermond.db.engine import Database
from powermond.readings import LoadSample, OutletReading
from powermond.report.plot import build_figure, isolated
from powermond.report.plotdata import MachinePlot, Series
from powermond.report.scatter import fit, pairs

from .conftest import STEP, store, store_load

T0 = datetime(2026, 10, 1, tzinfo=UTC)
NAN = float("nan")
SVG = "{http://www.w3.org/2000/svg}"


def _series(label: str, values: list[float], step: int = 1) -> Series:
    return Series(label, [T0 + i * step * STEP for i in range(len(values))], values)


def _plot(total: list[float], load5: list[float], feeds: list[Series] | None = None) -> MachinePlot:
    return MachinePlot(
        machine="wn001",
        since=T0,
        until=T0 + len(total) * STEP,
        resolution="cycle",
        feeds=feeds or [],
        total=_series("total", total),
        peak=None,
        load=[_series(f"load {m} min", [v * m / 5 for v in load5]) for m in (1, 5, 15)],
        mean_watts=None,
        peak_watts=None,
    )


def test_isolated_points() -> None:
    assert isolated([NAN, 5.0, NAN, 6.0, 7.0, NAN, 8.0]) == [1, 6]
    assert isolated([1.0]) == [0]
    assert isolated([1.0, 2.0]) == []
    assert isolated([]) == []


def test_lone_points_get_markers_and_partial_cycles_break_the_line() -> None:
    figure = build_figure([_plot([NAN, 300.0, NAN, 310.0, 320.0], [1, 2, 3, 4, 5])])
    power_ax, _load_ax = figure.axes
    (total,) = [line for line in power_ax.get_lines() if line.get_gid() == "power-total"]
    assert total.get_marker() == "o"
    assert total.get_markevery() == [1]  # the lone reading; 310-320 is drawn as a line
    assert math.isnan(float(total.get_ydata()[2]))  # type: ignore[index]


def test_load_panel_shares_the_time_axis_and_draws_load_5_by_default() -> None:
    figure = build_figure([_plot([300.0] * 4, [1, 2, 3, 4])])
    power_ax, load_ax = figure.axes
    assert power_ax.get_shared_x_axes().joined(power_ax, load_ax)
    assert [line.get_gid() for line in load_ax.get_lines()] == ["load-5"]
    assert power_ax.get_ylabel() == "power (W)"
    assert load_ax.get_ylabel() == "load average"
    assert load_ax.get_xlabel() == "time (UTC)"
    assert "(every cycle)" not in power_ax.get_title(loc="left")


def test_several_machines_prefix_their_ids() -> None:
    one, two = _plot([300.0] * 3, [1, 2, 3]), _plot([200.0] * 3, [1, 2, 3])
    two = MachinePlot(**{**{f: getattr(two, f) for f in two.__slots__}, "machine": "wn002"})
    figure = build_figure([one, two])
    ids = {line.get_gid() for ax in figure.axes for line in ax.get_lines()}
    assert ids == {"wn001-power-total", "wn001-load-5", "wn002-power-total", "wn002-load-5"}


def test_pairs_average_power_over_each_load_bucket() -> None:
    # Power every 5 minutes, load every 15: each load sample pairs with the mean of the
    # three cycles its bucket covers, (t - 15 min, t].
    power = _series("total", [100.0, 110.0, 120.0, 130.0, 140.0, 150.0, 160.0])
    load = _series("load 5 min", [1.0, 2.0, NAN], step=3)  # at 0, 15 and 30 minutes
    load_v, watts = pairs(power, load)
    np.testing.assert_array_equal(load_v, [1.0, 2.0])
    np.testing.assert_array_equal(watts, [100.0, 120.0])  # (110 + 120 + 130) / 3


def test_fit_finds_idle_watts_and_watts_per_load() -> None:
    load = np.array([0.5, 1.0, 2.0, 4.0, 8.0])
    found = fit(load, 180.0 + 30.0 * load)
    assert found is not None
    assert found.idle_watts == pytest.approx(180.0)
    assert found.watts_per_load == pytest.approx(30.0)
    assert found.r_squared == pytest.approx(1.0)
    assert fit(np.array([2.0, 2.0]), np.array([100.0, 120.0])) is None  # no slope to find


@pytest.fixture
async def linear_config(db: Database, sqlite_url: str, tmp_path: Path) -> Path:
    """wn002 (one feed): watts = 100 + 20 x load 5, over 36 cycles; 20 and 21 missing."""
    loads = [float(i % 7) for i in range(36)]
    for i, load in enumerate(loads):
        if i not in (20, 21):
            reading = OutletReading("2", 100 + 20 * load, None, None)
            await store(db, T0 + i * STEP, "pdu-a", [reading])
    samples = [LoadSample(T0 + i * STEP, 0.0, v, 0.0) for i, v in enumerate(loads)]
    await store_load(db, "wn002", samples)
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "powermon.toml").write_text(f'[database]\nurl = "{sqlite_url}"\n')
    return folder


def _ids(svg: Path) -> dict[str, ET.Element]:
    root = ET.parse(svg).getroot()
    return {e.attrib["id"]: e for e in root.iter() if "id" in e.attrib}


async def _main(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_svg_has_stable_ids(linear_config: Path, tmp_path: Path) -> None:
    out = tmp_path / "wn002.svg"
    period = ("--since", "2026-10-01", "--until", "2026-10-01T03:00")
    code = await _main("--config-dir", str(linear_config), "plot", "wn002", *period,
                       "--load", "1,15", "-o", str(out))  # fmt: skip
    assert code == 0
    ids = _ids(out)
    assert {"power-total", "load-1", "load-15"} <= set(ids)
    assert "load-5" not in ids
    # The total's line breaks where cycles 20 and 21 are missing (one missing cycle is
    # bridged, as energy bridges it): two sub-paths, two "M" moves.
    path = ids["power-total"].find(f"{SVG}path")
    assert path is not None
    assert path.attrib["d"].count("M") == 2


async def test_scatter_writes_the_fit_on_the_figure(linear_config: Path, tmp_path: Path) -> None:
    out = tmp_path / "scatter.svg"
    period = ("--since", "2026-10-01", "--until", "2026-10-01T03:00")
    code = await _main("--config-dir", str(linear_config), "plot", "wn002", *period,
                       "--kind", "scatter", "-o", str(out))  # fmt: skip
    assert code == 0
    ids = _ids(out)
    assert {"scatter-points", "scatter-fit"} <= set(ids)
    text = out.read_text()
    assert "idle (load 0): 100 W" in text
    assert "each unit of load (5 min): +20.0 W" in text
    assert "fit over 34 samples" in text  # the missing cycles have no pair
