"""RRD reading without a database: locating host directories, fetching, bucket averages."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from rrdfiles import GANGLIA_33, LAYOUTS, METRICS, PRE_33, create_metric, make_host, update

from powermond.collect.rrd import (
    HostIndex,
    RrdError,
    Window,
    bucket_means,
    fetch_series,
    make_window,
    read_machines,
    rrdcached_problem,
)

T0 = 1767571200  # 2026-01-05 00:00:00 UTC, a multiple of 300, 360 and 1800
NAN = math.nan


def utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


# --- locating ---------------------------------------------------------------------------


def test_index_finds_hosts_case_insensitively_and_skips_summaries(tmp_path: Path) -> None:
    (tmp_path / "Batch Nodes" / "WN001.Example.ORG").mkdir(parents=True)
    (tmp_path / "Batch Nodes" / "__SummaryInfo__").mkdir()
    (tmp_path / "__SummaryInfo__").mkdir()
    index = HostIndex.scan(tmp_path)
    assert index.locate("wn001.example.org") == tmp_path / "Batch Nodes" / "WN001.Example.ORG"
    assert index.locate("__summaryinfo__") is None
    assert index.locate("wn002.example.org") is None


def test_short_and_qualified_names_find_each_other(tmp_path: Path) -> None:
    (tmp_path / "c1" / "wn001").mkdir(parents=True)
    (tmp_path / "c1" / "wn002.example.org").mkdir(parents=True)
    index = HostIndex.scan(tmp_path)
    assert index.locate("WN001.example.org") == tmp_path / "c1" / "wn001"
    assert index.locate("wn002") == tmp_path / "c1" / "wn002.example.org"
    assert index.locate("wn002.other.org") is None


def test_a_host_in_two_clusters_is_an_error_naming_both(tmp_path: Path) -> None:
    (tmp_path / "a" / "wn001").mkdir(parents=True)
    (tmp_path / "b" / "WN001").mkdir(parents=True)
    with pytest.raises(RrdError) as caught:
        HostIndex.scan(tmp_path).locate("wn001")
    assert str(tmp_path / "a" / "wn001") in str(caught.value)
    assert str(tmp_path / "b" / "WN001") in str(caught.value)


def test_the_rrd_key_wins_and_must_exist(tmp_path: Path) -> None:
    (tmp_path / "a" / "wn001").mkdir(parents=True)
    (tmp_path / "b" / "wn001").mkdir(parents=True)
    index = HostIndex.scan(tmp_path)
    assert index.locate("wn001", "b/wn001") == tmp_path / "b" / "wn001"
    with pytest.raises(RrdError, match="does not exist"):
        index.locate("wn001", "c/wn001")


def test_an_absent_root_is_an_empty_index(tmp_path: Path) -> None:
    assert HostIndex.scan(tmp_path / "nope").locate("wn001") is None


# --- windows and averages ---------------------------------------------------------------


def test_window_covers_complete_buckets_only() -> None:
    window = make_window(utc(T0 + 10), utc(T0 + 1000), 300)
    assert window == Window(after=T0 + 300, resolution=300, count=2)
    assert window.labels().tolist() == [T0 + 600, T0 + 900]
    assert make_window(utc(T0), utc(T0 + 299), 300).count == 0


def test_means_of_aligned_rows() -> None:
    values = np.arange(1.0, 11.0)[:, None]  # ten 60 s rows from 0
    means = bucket_means(0, 60, values, np.array([0.0, 300.0, 600.0]))
    assert means[:, 0].tolist() == [3.0, 8.0]  # (1+2+3+4+5)/5, (6+...+10)/5


def test_coverage_of_half_a_bucket_decides() -> None:
    values = np.array([[1, 1], [NAN, NAN], [NAN, NAN], [4, NAN], [5, 5]], dtype=float)
    means = bucket_means(0, 60, values, np.array([0.0, 300.0]))
    assert means[0, 0] == pytest.approx((1 + 4 + 5) / 3)  # 180 s of 300 known
    assert math.isnan(means[0, 1])  # 120 s of 300 known


def test_rows_wider_than_a_bucket_are_split_by_overlap() -> None:
    values = np.array([[1.0], [2.0]])  # 360 s rows: (0, 360] = 1, (360, 720] = 2
    means = bucket_means(0, 360, values, np.array([0.0, 300.0, 600.0, 900.0]))
    assert means[0, 0] == 1.0
    assert means[1, 0] == pytest.approx((60 * 1 + 240 * 2) / 300)
    assert math.isnan(means[2, 0])  # (600, 900] has only 120 s of rows


def test_no_rows_means_unknown() -> None:
    means = bucket_means(0, 60, np.empty((0, 2)), np.array([0.0, 300.0]))
    assert means.shape == (1, 2)
    assert np.isnan(means).all()


# --- real files -------------------------------------------------------------------------


def test_fetch_reads_the_step_from_the_file(tmp_path: Path) -> None:
    host = make_host(tmp_path, "c", "h", T0, T0 + 3600, lambda t: (1.0, 2.0, 3.0), PRE_33)
    window = make_window(utc(T0), utc(T0 + 3600), 300)
    series = fetch_series(host / "load_one.rrd", window)
    assert series.step == 360  # rrdtool picked the 6-min RRA; -r 300 did not resample


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_a_change_inside_a_bucket_is_time_weighted(tmp_path: Path, layout: tuple[str]) -> None:
    # load_one is 0 up to T0+1080 and 1 after. The bucket (T0+900, T0+1200] is 180 s of 0
    # and 120 s of 1 = 0.4, whether the rows are 60 s (3.3+) or 360 s (pre-3.3) wide.
    host = make_host(
        tmp_path, "c", "h", T0, T0 + 3 * 3600,
        lambda t: (0.0 if t <= T0 + 1080 else 1.0, 0.5, 0.25), layout,
    )  # fmt: skip
    window = make_window(utc(T0), utc(T0 + 3 * 3600), 300)
    [result] = read_machines([("h", host, window)])
    assert result.means is not None
    assert result.means[2].tolist() == pytest.approx([0.0, 0.5, 0.25], abs=1e-12)
    assert result.means[3, 0] == pytest.approx(0.4, abs=1e-12)
    assert result.means[4].tolist() == pytest.approx([1.0, 0.5, 0.25], abs=1e-12)


def test_a_ramp_averages_exactly(tmp_path: Path) -> None:
    # load_five written at T0 + 15 i is i/4: bucket k (ending T0 + 300 k) holds i = 20k-19..20k,
    # whose mean is 20k - 9.5, so the bucket's load5 is (20k - 9.5) / 4.
    host = make_host(
        tmp_path, "c", "h", T0, T0 + 3600, lambda t: (1.0, (t - T0) // 15 / 4, 2.0), GANGLIA_33
    )
    window = make_window(utc(T0), utc(T0 + 3600), 300)
    [result] = read_machines([("h", host, window)])
    assert result.means is not None
    expected = [(20 * k - 9.5) / 4 for k in range(1, 13)]
    assert result.means[:, 1].tolist() == pytest.approx(expected, abs=1e-12)
    assert set(result.means[:, 0].tolist()) == {1.0}


def test_a_corrupt_file_fails_its_machine_only(tmp_path: Path) -> None:
    good = make_host(tmp_path, "c", "good", T0, T0 + 900, lambda t: (1.0, 1.0, 1.0))
    bad = make_host(tmp_path, "c", "bad", T0, T0 + 900, lambda t: (1.0, 1.0, 1.0))
    (bad / "load_five.rrd").write_bytes(b"this is not an RRD file" * 100)
    window = make_window(utc(T0), utc(T0 + 900), 300)
    first, second = read_machines([("bad", bad, window), ("good", good, window)])
    assert first.error is not None
    assert str(bad / "load_five.rrd") in first.error
    assert first.samples() == []
    assert second.error is None
    assert [s.load1 for s in second.samples()] == [1.0, 1.0, 1.0]


def test_a_missing_file_names_its_path(tmp_path: Path) -> None:
    host = make_host(tmp_path, "c", "h", T0, T0 + 900, lambda t: (1.0, 1.0, 1.0))
    (host / "load_fifteen.rrd").unlink()
    [result] = read_machines([("h", host, make_window(utc(T0), utc(T0 + 900), 300))])
    assert result.error is not None
    assert str(host / "load_fifteen.rrd") in result.error


def test_unreachable_rrdcached_is_described(tmp_path: Path) -> None:
    problem = rrdcached_problem(f"unix:{tmp_path / 'absent.sock'}")
    assert problem is not None
    assert "absent.sock" in problem
    assert rrdcached_problem("127.0.0.1:1") is not None


def test_a_cluster_polled_every_40_s_is_read_at_its_own_step(tmp_path: Path) -> None:
    # data_source "slow" 40 ...: 40 s rows; the bucket (T0, T0+300] holds 7.5 rows, so the
    # row (T0+280, T0+320] counts 20 s in each of the first two buckets.
    host = tmp_path / "slow" / "h"
    host.mkdir(parents=True)
    for metric in METRICS:
        create_metric(host / f"{metric}.rrd", T0, ("RRA:AVERAGE:0.5:1:1000",), step=40)
        update(host / f"{metric}.rrd", ((t, (t - T0) / 40) for t in range(T0 + 40, T0 + 1201, 40)))
    [result] = read_machines([("h", host, make_window(utc(T0), utc(T0 + 600), 300))])
    assert result.means is not None
    first = (sum(range(1, 8)) * 40 + 8 * 20) / 300  # rows 1..7 whole, half of row 8
    second = (8 * 20 + sum(range(9, 16)) * 40) / 300  # half of row 8, rows 9..15 whole
    assert result.means[:, 0].tolist() == pytest.approx([first, second], abs=1e-12)
