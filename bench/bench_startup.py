"""Start-up benchmark: CPU seconds of whole ``powermon`` processes (user + system).

    .venv/bin/python bench/bench_startup.py [--runs 7] [--config-dir DIR] [--base SRC]
        [COMMAND ...]    (default commands: --version, --help, pdus, power wn003, config check)

Each command runs ``--runs`` times as a child process (``python -m`` of the installed
entry point, bytecode cached as an installed package has it); the runs of all commands are
interleaved so that the load of a shared machine spreads evenly, and the minimum and median
CPU per command are printed with the load average. CPU, not wall: on a loaded machine a
process waits for a core, which its CPU time does not count. With ``--base SRC`` (another
checkout's ``src``, e.g. ``git archive main src``) every command also runs against that
code, side by side.

Without ``--config-dir`` the benchmark makes a SQLite database of its own first (schema,
4 apc-rpdu2 PDUs and machines wn001-wn004 applied, a day of 5-minute cycles stored as the
daemon stores them), so that ``pdus`` and ``power`` run whole. Three floors are measured in
the same interleaved runs: the interpreter alone; importing what a command that reads the
database must import (SQLAlchemy Core, asyncio, the database's dialect and driver: what
``pdus`` and ``power`` import, through ``db/reader.py``), so that what they cost above it is
PowerMon's; and the same with SQLAlchemy's asyncio extension, which imports its ORM (what
the commands that use the daemon's ``Database`` import).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

DEFAULT_COMMANDS = ["--version", "--help", "pdus", "power wn003", "config check"]
BIN = Path(sys.executable).parent
FLOORS = {
    "(python alone)": "pass",
    # What pdus and power import (db/reader.py): SQLAlchemy Core, SQLite's dialect and driver.
    "(SQLAlchemy Core + sqlite)": (
        "import asyncio, sqlalchemy, sqlalchemy.dialects.sqlite.aiosqlite, aiosqlite"
    ),
    # What the daemon's units of work import: the asyncio extension, which imports the ORM.
    "(SQLAlchemy async + sqlite)": (
        "import sqlalchemy.ext.asyncio, sqlalchemy.dialects.sqlite.aiosqlite, aiosqlite"
    ),
}
OUTLETS = 48


def cpu_of(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """CPU seconds of one child process and its exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, env=env, capture_output=True, check=False, timeout=120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return used, done.returncode


def make_database(root: Path) -> Path:
    """A configuration directory over a SQLite database holding a day of readings."""
    etc = root / "etc"
    etc.mkdir()
    (etc / "powermon.toml").write_text(
        f'[database]\nurl = "sqlite+aiosqlite:///{root / "powermon.db"}"\n'
        f'[daemon]\nstate_dir = "{root / "state"}"\n'
    )
    pdus = [f"rack-a{i}" for i in range(1, 5)]
    (etc / "pdus.toml").write_text(
        "".join(f'[pdu.{p}]\nhost = "192.0.2.{i}"\nprofile = "apc-rpdu2"\n' for i, p in
                enumerate(pdus, 1))
    )  # fmt: skip
    (etc / "machines.toml").write_text(
        "".join(f'[machine.wn00{i}]\noutlets = ["{p}:1", "{p}:2"]\n' for i, p in
                enumerate(pdus, 1))
    )  # fmt: skip
    for step in (["db", "upgrade"], ["config", "apply"]):
        subprocess.run(
            [str(BIN / "powermon"), "--config-dir", str(etc), *step],
            check=True, timeout=300, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    asyncio.run(_store_a_day(etc, pdus))
    return etc


async def _store_a_day(etc: Path, pdus: list[str]) -> None:
    from powermond.collect.store import store_cycle
    from powermond.db.engine import Database
    from powermond.inventory.load import load_settings
    from powermond.readings import OutletReading, OutletReadings

    url = load_settings(etc).database.url.get_secret_value()
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    async with Database.from_url(url) as db:
        for k in range(288):
            cycle = now - timedelta(minutes=5 * (288 - k))
            readings = {
                pdu: OutletReadings(
                    OutletReading(str(n), 100.0 + n + k % 7, 0.5, 1000.0 + k) for n in
                    range(1, OUTLETS + 1)
                )
                for pdu in pdus
            }  # fmt: skip
            await store_cycle(db, cycle, readings, interval=300)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("commands", nargs="*", default=DEFAULT_COMMANDS)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--config-dir", default=None)
    parser.add_argument("--base", default=None, help="another src/ to compare with")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pm-bench-startup-") as tmp:
        config_dir = args.config_dir or str(make_database(Path(tmp)))
        run(args, config_dir)


def run(args: argparse.Namespace, config_dir: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    trees = {"this": env}
    if args.base:
        trees["base"] = env | {"PYTHONPATH": str(Path(args.base).resolve())}
    code = "import sys; from powermond.cli import main; sys.exit(main())"
    prefix = [sys.executable, "-c", code, "--config-dir", config_dir]
    runs: dict[tuple[str, str], tuple[list[str], dict[str, str]]] = {
        (tree, command): ([*prefix, *shlex.split(command)], tree_env)
        for command in args.commands
        for tree, tree_env in trees.items()
    }
    for name, snippet in FLOORS.items():
        runs[("", name)] = ([sys.executable, "-c", snippet], env)
    for argv, tree_env in runs.values():  # compile and cache bytecode once, outside the timing
        cpu_of(argv, tree_env)
    samples: dict[tuple[str, str], list[float]] = {key: [] for key in runs}
    codes: dict[tuple[str, str], int] = {}
    for _ in range(args.runs):
        for key, (argv, tree_env) in runs.items():
            used, codes[key] = cpu_of(argv, tree_env)
            samples[key].append(used)
    load = os.getloadavg()
    print(f"{args.runs} runs each, interleaved; load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'command':<28} {'tree':<5} {'min CPU s':>9} {'median':>7}  exit")
    for (tree, command), values in samples.items():
        print(f"{command:<28} {tree:<5} {min(values):9.3f} {statistics.median(values):7.3f}  "
              f"{codes[(tree, command)]}")  # fmt: skip


if __name__ == "__main__":
    main()
