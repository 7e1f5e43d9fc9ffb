"""Daemon start benchmark: ``powermond`` over N configured PDUs until it is ready.

    .venv/bin/python bench/bench_start.py [--pdus 10000] [--runs 2] [--db-url URL]

Writes the configuration bench_daemon.py writes (N apc-rpdu2 PDUs, one machine each; no
agents are needed: the first cycle is due only at the next multiple of the 300 s interval),
runs ``powermon db upgrade`` and one ``config apply``, then starts ``powermond`` ``--runs``
times: each time the configuration is loaded, validated and applied with nothing changed,
the schema checked and the SNMP transport opened. Prints per run the wall time until its
"started:" line, its CPU seconds (user + system, /proc) and RSS at that moment, and the
load average: on a shared machine the wall time mostly measures the wait for a core.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from bench_daemon import BIN, proc_sample, write_config


def start_once(etc: Path, log_path: Path) -> tuple[float, float, float]:
    """(wall s, CPU s, RSS MB) of one ``powermond`` start; the daemon is stopped after."""
    with log_path.open("wb") as log:
        started = time.monotonic()
        daemon = subprocess.Popen(
            [str(BIN / "powermond"), "--config-dir", str(etc)], stdout=log, stderr=log
        )
        try:
            while "started:" not in log_path.read_text(errors="replace"):
                if daemon.poll() is not None:
                    raise RuntimeError(log_path.read_text()[-2000:])
                if time.monotonic() - started > 600:
                    raise RuntimeError("not started within 600 s")
                time.sleep(0.05)
            wall = time.monotonic() - started
            rss, cpu = proc_sample(daemon.pid)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=120)
    return wall, cpu, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdus", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--db-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pm-bench-start-") as tmp:
        root = Path(tmp)
        db_url = args.db_url or f"sqlite+aiosqlite:///{root / 'powermon.db'}"
        endpoints = [(f"pdu{i}", 20000 + i // 100) for i in range(args.pdus)]
        etc = write_config(root, db_url, endpoints, 300)
        for step in (["db", "upgrade"], ["config", "apply"]):
            subprocess.run(
                [str(BIN / "powermon"), "--config-dir", str(etc), *step],
                check=True,
                timeout=600,
                stdout=subprocess.DEVNULL,
            )
        print(f"powermond start with {args.pdus} PDUs and machines (nothing to apply)")
        for run in range(1, args.runs + 1):
            wall, cpu, rss = start_once(etc, root / f"powermond-{run}.log")
            load = os.getloadavg()
            print(f"  run {run}: ready in {wall:.1f} s wall, {cpu:.2f} s CPU, RSS {rss:.0f} MB "
                  f"(load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
