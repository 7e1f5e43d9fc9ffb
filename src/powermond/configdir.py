"""Where the configuration lives: ``--config-dir``, ``$POWERMON_CONFIG_DIR``, ``/etc/powermon``.

Apart from :mod:`powermond.settings` so that building the command line (every ``powermon``
run, ``--version`` and ``--help`` included) does not import pydantic.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_CONFIG_DIR = Path("/etc/powermon")


def config_dir_from(cli_value: str | None) -> Path:
    """``--config-dir``, else ``$POWERMON_CONFIG_DIR``, else ``/etc/powermon``."""
    if cli_value:
        return Path(cli_value)
    env = os.environ.get("POWERMON_CONFIG_DIR")
    return Path(env) if env else DEFAULT_CONFIG_DIR
