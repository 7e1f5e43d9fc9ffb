"""The session's snmpsim: the real recordings plus synthetic ones for bad input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from synthetic import SNMPREC_DIR, write_synthetic

from simulator import Snmpsim


@pytest.fixture(scope="session")
def snmpsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpsim]:
    """snmpsim on 127.0.0.1:<free port>, serving the recordings and the synthetic files."""
    if not SNMPREC_DIR.is_dir():
        pytest.skip(f"recordings folder {SNMPREC_DIR} is absent")
    root = tmp_path_factory.mktemp("snmpsim")
    synthetic = root / "synthetic"
    write_synthetic(synthetic)
    with Snmpsim.start([SNMPREC_DIR, synthetic], root / "cache", root / "snmpsim.log") as sim:
        yield sim
