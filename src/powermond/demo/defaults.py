"""``powermon demo``'s option defaults, apart from :mod:`powermond.demo.run` so that building
the command line does not import the demo's SNMP and profile modules."""

from __future__ import annotations

from pathlib import Path

DEFAULT_DIR = Path("powermon-demo")
DEFAULT_CYCLES = 10
DEFAULT_INTERVAL = 5.0
