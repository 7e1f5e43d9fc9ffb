"""``powermon demo``: build the simulated world, run the real daemon against it, show results.

Steps: prepare the directory (a rerun replaces everything the demo generated and keeps only
snmpsim's index cache), write the configuration, the ``.snmprec`` files and the RRD files,
create the database and apply the configuration, back-fill a day of history, start snmpsim,
run the daemon for a few cycles (the same ``run_daemon`` as ``powermond``), stop snmpsim, then
plot and report with the same commands an administrator would type.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shlex
import shutil
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from powermond.demo.agent import free_udp_port, responder_path, start_agent
from powermond.demo.defaults import DEFAULT_CYCLES, DEFAULT_DIR, DEFAULT_INTERVAL
from powermond.demo.snmprec import write_snmprec
from powermond.demo.world import DEFAULT_WORLD, Layout, World, config_files
from powermond.errors import EXIT_OK, PowermonError

if TYPE_CHECKING:
    from powermond.daemon import DaemonResult

#: What a rerun deletes; snmp-cache stays (snmpsim re-indexes changed files itself).
GENERATED = ("etc", "snmp", "rrds", "state", "snmpsim.log")


@dataclass(frozen=True, slots=True)
class DemoOptions:
    directory: Path = DEFAULT_DIR
    cycles: int = DEFAULT_CYCLES
    interval: float = DEFAULT_INTERVAL
    port: int = 0  # 0: any free UDP port


@dataclass(frozen=True, slots=True)
class DemoResult:
    exit_code: int
    last_status: str
    png: Path
    agent_pid: int
    backfilled_until: float  # the back-fill covers the day before this time (epoch seconds)


def prepare_directory(layout: Layout) -> None:
    """Create the directory, or clear what an earlier demo generated in it.

    A non-empty directory without the demo's marker is refused: it is someone's data.
    """
    root = layout.root
    if root.exists() and any(root.iterdir()) and not layout.marker.exists():
        raise PowermonError(f"{root} exists and was not made by `powermon demo`; use --dir")
    root.mkdir(parents=True, exist_ok=True)
    layout.marker.write_text("made by `powermon demo`; rerunning the demo replaces this\n")
    for name in GENERATED:
        path = root / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    for stale in (*root.glob("powermon.db*"), *root.glob("*.png")):
        stale.unlink()


def build_world(world: World, layout: Layout, port: int, interval: float, now: float) -> None:
    """Configuration, snmprec and RRD files: everything on disk before anything runs."""
    from powermond.demo.rrd import write_rrds  # rrdtool and numpy: only when needed

    layout.config_dir.mkdir(parents=True, exist_ok=True)
    for name, text in config_files(world, layout, port, interval).items():
        (layout.config_dir / name).write_text(text)
    write_snmprec(world, layout.snmp_data)
    write_rrds(world, layout.rrd_root, now)


async def prepare_database(world: World, layout: Layout, now: float) -> tuple[int, int]:
    """Schema, configuration, back-filled power and imported load: (readings, load rows)."""
    from powermond.db.apply import apply_inventory
    from powermond.db.engine import Database
    from powermond.db.migrate import upgrade
    from powermond.demo.backfill import backfill_load, backfill_power
    from powermond.inventory.load import load_all

    settings, inventory = load_all(layout.config_dir)
    await upgrade(layout.database_url)
    async with Database.from_url(layout.database_url) as db:
        async with db.transaction() as session:
            await apply_inventory(session, inventory)
        readings = await backfill_power(db, world, now)
        load_rows = await backfill_load(db, settings.rrd, inventory.machines.values(), now)
    return readings, load_rows


class _Say:
    """Progress lines: what happened and how long it took."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.started = time.monotonic()

    def __call__(self, what: str, detail: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"[{elapsed:5.1f} s] {what:<9} {detail}", file=self.out, flush=True)


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt like Ctrl-C, so every ``finally`` below runs."""

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_demo(
    options: DemoOptions, world: World = DEFAULT_WORLD, out: TextIO = sys.stdout
) -> DemoResult:
    """The whole demo; snmpsim is stopped however this ends."""
    with sigterm_interrupts():
        return _run(options, world, out)


def _run(options: DemoOptions, world: World, out: TextIO) -> DemoResult:
    say = _Say(out)
    responder_path()  # no simulated PDUs, no demo: say so before building anything
    layout = Layout(options.directory.resolve())
    prepare_directory(layout)
    port = options.port or free_udp_port()
    now = time.time()
    build_world(world, layout, port, options.interval, now)
    pdus = ", ".join(f"{p.name} ({p.profile})" for p in world.pdus)
    say("world", f"{len(world.pdus)} PDUs: {pdus}; {len(world.machines)} machines")
    say("config", str(layout.config_dir))
    with _quiet("powermond.db.migrate", "powermond.collect.loadimport"):  # said just below
        readings, load_rows = asyncio.run(prepare_database(world, layout, now))
    say("database", f"{layout.database}: {readings} readings and {load_rows} load rows back-filled")
    agent = start_agent(layout.snmp_data, layout.snmp_cache, port, layout.root / "snmpsim.log")
    try:
        say("snmpsim", f"pid {agent.pid} serving the PDUs on udp 127.0.0.1:{port}")
        result = _run_daemon(layout, options, say)
    finally:
        agent.stop()
    say("snmpsim", f"pid {agent.pid} stopped")
    png = layout.png(world.showcase.name)
    _show_results(layout, world, png, out)
    print(png, file=out, flush=True)
    return DemoResult(result.exit_code, result.last_status, png, agent.pid, now)


def _run_daemon(layout: Layout, options: DemoOptions, say: _Say) -> DaemonResult:
    from powermond.daemon import run_daemon

    # The daemon logs its own start, cycles and stop: the progress only frames them.
    say("daemon", f"powermond for {options.cycles} cycles; its log:")
    result = asyncio.run(run_daemon(layout.config_dir, max_cycles=options.cycles))
    say("daemon", f"exit code {result.exit_code}")
    return result


@contextlib.contextmanager
def _quiet(*loggers: str) -> Iterator[None]:
    """Only warnings from ``loggers``: their info lines would repeat the progress line."""
    saved = [(logging.getLogger(name), logging.getLogger(name).level) for name in loggers]
    for logger, _level in saved:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)


def _show_results(layout: Layout, world: World, png: Path, out: TextIO) -> None:
    """The plot and the report, through the same commands an administrator types."""
    config = ["--config-dir", str(layout.config_dir)]
    _command([*config, "plot", world.showcase.name, "--since=-24h", "-o", str(png)])
    print("\nEnergy of the last 24 hours (powermon report --since -24h):", file=out, flush=True)
    _command([*config, "report", "--since=-24h"])
    print("\nMore, to paste (the simulated PDUs are stopped; the database stays):", file=out)
    for line in more_commands(layout, world):
        print(f"  {line}", file=out)


def more_commands(layout: Layout, world: World) -> list[str]:
    """Commands a person can paste, with the ``powermon`` this demo runs from."""
    base = f"{_powermon()} --config-dir {shlex.quote(str(layout.config_dir))}"
    showcase = world.showcase.name
    more_png = shlex.quote(str(layout.root / "more.png"))
    scatter_png = shlex.quote(str(layout.root / f"{showcase}-scatter.png"))
    return [
        f"{base} machines",
        f"{base} power {showcase} --since -1h",
        f"{base} plot {showcase} --kind scatter -o {scatter_png}",
        f"{base} plot gpu01 wn003 --load 1,5,15 -o {more_png}",
        f"{base} report --by pdu",
    ]


def _powermon() -> str:
    """The installed ``powermon`` beside this Python (a venv), on PATH, or ``python -m``."""
    beside = Path(sys.executable).parent / "powermon"
    if beside.exists():
        return shlex.quote(str(beside))
    found = shutil.which("powermon")
    if found:
        return shlex.quote(found)
    return f"{shlex.quote(sys.executable)} -m powermond"


def _command(argv: Sequence[str]) -> None:
    from powermond.cli import build_parser

    args = build_parser().parse_args(list(argv))
    code: int = args.func(args)
    if code != EXIT_OK:
        raise PowermonError(f"`powermon {' '.join(argv)}` failed with exit code {code}")


def options_from(args: argparse.Namespace) -> DemoOptions:
    return DemoOptions(Path(args.dir), args.cycles, args.interval, args.port)
