"""The simulated computing centre: three PDUs of different vendors and ten machines.

Also writes the configuration an administrator would write for it (powermon.toml, pdus.toml,
machines.toml), pointing at the demo's own database, state directory, RRD root and agent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from powermond.demo.pattern import DAY, MachineModel, Wave

HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class PduModel:
    """A simulated PDU; its community string (and its .snmprec file's stem) is its name."""

    name: str
    profile: str
    outlets: int

    @property
    def community(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class World:
    pdus: tuple[PduModel, ...]
    machines: tuple[MachineModel, ...]

    def machines_on(self, pdu: str) -> dict[int, MachineModel]:
        """Outlet number -> the machine it feeds, for one PDU."""
        return {n: m for m in self.machines for p, n in m.feeds if p == pdu}

    def machine(self, name: str) -> MachineModel:
        return next(m for m in self.machines if m.name == name)

    @property
    def showcase(self) -> MachineModel:
        """The machine the demo plots: the one with A and B feeds on two PDUs."""
        return next(m for m in self.machines if len(m.feeds) > 1)


def _worker(name: str, outlet: tuple[str, int], load: Wave) -> MachineModel:
    return MachineModel(name, "Workers", (outlet,), load, idle_watts=130, watts_per_load=22)


# sign=-1 with cos peaks at 12:00 UTC, with sin at 18:00; sign=+1 with sin at 06:00.
DEFAULT_WORLD = World(
    pdus=(
        PduModel("rack-a1", "apc-rpdu2", 8),
        PduModel("rack-a2", "raritan-pdu2", 8),
        PduModel("rack-b1", "eaton-epdu", 8),
    ),
    machines=(
        _worker("wn001", ("rack-a1", 1), Wave(10, 6, DAY, "cos", -1)),
        _worker("wn002", ("rack-a1", 2), Wave(9, 7, DAY, "sin", -1)),
        # Batch queues that fill and drain every six hours.
        _worker("wn003", ("rack-a1", 3), Wave(6, 5, 6 * HOUR, "cos", -1)),
        _worker("wn004", ("rack-b1", 1), Wave(12, 4, DAY, "cos", -1)),
        _worker("wn005", ("rack-b1", 2), Wave(8, 6, 6 * HOUR, "sin", 1)),
        _worker("wn006", ("rack-b1", 3), Wave(7, 3, DAY, "sin", -1)),
        # Training epochs of 90 minutes: this one visibly moves during the demo's minute.
        MachineModel(
            "gpu01",
            "GPU",
            (("rack-a2", 1),),
            Wave(20, 16, 1.5 * HOUR, "sin", 1),
            idle_watts=250,
            watts_per_load=35,
        ),
        # A and B feeds from two PDUs of different vendors: power is the sum of both.
        MachineModel(
            "db01",
            "Services",
            (("rack-a1", 8), ("rack-a2", 8)),
            Wave(4, 3, DAY, "cos", -1),
            idle_watts=180,
            watts_per_load=30,
        ),
        MachineModel(
            "fs01",
            "Services",
            (("rack-a2", 2),),
            Wave(2, 1.5, DAY, "cos", 1),
            idle_watts=150,
            watts_per_load=15,
        ),
        MachineModel(
            "login01",
            "Services",
            (("rack-b1", 4),),
            Wave(1.5, 1.2, DAY, "cos", -1),
            idle_watts=90,
            watts_per_load=20,
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class Layout:
    """Where everything lives inside the demo directory."""

    root: Path

    @property
    def config_dir(self) -> Path:
        return self.root / "etc"

    @property
    def database(self) -> Path:
        return self.root / "powermon.db"

    @property
    def database_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.database}"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def rrd_root(self) -> Path:
        return self.root / "rrds"

    @property
    def snmp_data(self) -> Path:
        return self.root / "snmp"

    @property
    def snmp_cache(self) -> Path:
        return self.root / "snmp-cache"

    @property
    def marker(self) -> Path:
        """Says the directory is the demo's, so a rerun may replace what is inside."""
        return self.root / ".powermon-demo"

    def png(self, machine: str) -> Path:
        return self.root / f"{machine}.png"


def _q(value: object) -> str:
    """A TOML basic string (JSON's escaping is a subset TOML accepts)."""
    return json.dumps(str(value))


def powermon_toml(layout: Layout, interval: float) -> str:
    return f"""\
# Written by `powermon demo`. A real installation keeps this in /etc/powermon.
[database]
url = {_q(layout.database_url)}

[collector]
interval = {interval:g}   # seconds; the demo polls fast, a real site uses 300
timeout = 1.0
retries = 1

[rrd]
root = {_q(layout.rrd_root)}
interval = 60
backfill_days = 1

[daemon]
state_dir = {_q(layout.state_dir)}
shutdown_grace = 5
"""


def pdus_toml(world: World, port: int) -> str:
    lines = ["# Written by `powermon demo`: simulated PDUs served by snmpsim on loopback."]
    for pdu in world.pdus:
        lines += [
            "",
            f"[pdu.{pdu.name}]",
            'host = "127.0.0.1"',
            f"port = {port}",
            f"profile = {_q(pdu.profile)}",
            'version = "2c"',
            f"community = {_q(pdu.community)}",
        ]
    return "\n".join(lines) + "\n"


def machines_toml(world: World) -> str:
    lines = ["# Written by `powermon demo`. RRD directories are found by host name."]
    for machine in world.machines:
        outlets = ", ".join(_q(f"{pdu}:{n}") for pdu, n in machine.feeds)
        lines += ["", f"[machine.{_q(machine.name)}]", f"outlets = [{outlets}]"]
        if len(machine.feeds) > 1:
            lines.append(f"rrd = {_q(f'{machine.cluster}/{machine.name}')}")
    return "\n".join(lines) + "\n"


def config_files(world: World, layout: Layout, port: int, interval: float) -> Mapping[str, str]:
    """File name -> content of the three configuration files."""
    return {
        "powermon.toml": powermon_toml(layout, interval),
        "pdus.toml": pdus_toml(world, port),
        "machines.toml": machines_toml(world),
    }
