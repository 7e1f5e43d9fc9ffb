"""A configuration directory for ``poll`` tests: one PDU answering through snmpsim (the owned
APC recording, outlet 3 feeding wn001) and one PDU that never answers."""

from __future__ import annotations

from pathlib import Path

import owned
from simulator import HOST, Snmpsim, free_udp_port


def poll_config(tmp_path: Path, snmpsim: Snmpsim, *, timeout: float, retries: int) -> Path:
    config = tmp_path / "etc"
    config.mkdir()
    (config / "powermon.toml").write_text(
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "pm.db"}"\n'
        f"[collector]\ninterval = 300\ntimeout = {timeout}\nretries = {retries}\n"
    )
    (config / "pdus.toml").write_text(
        f'[pdu.rack-a1]\nhost = "{HOST}"\nport = {snmpsim.port}\nprofile = "apc-rpdu2"\n'
        f'community = "{owned.APC}"\n'
        f'[pdu.gone]\nhost = "{HOST}"\nport = {free_udp_port()}\nprofile = "apc-rpdu2"\n'
        'community = "secret-gone"\n'
    )
    (config / "machines.toml").write_text('[machine."wn001"]\noutlets = ["rack-a1:3"]\n')
    return config
