"""Placeholder until the daemon issue brings journald-aware logging."""

from __future__ import annotations

import logging


def setup_logging(*, debug: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
