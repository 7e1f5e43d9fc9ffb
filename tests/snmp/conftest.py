"""The session's snmpsim: the project's own recordings, synthetic ones for bad input, and the
real device recordings when ../shared is there (tests using those ask for ``snmprec_dir``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from synthetic import SNMPREC_DIR, write_synthetic

from owned import write_owned
from simulator import Snmpsim


@pytest.fixture(scope="session")
def snmpsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpsim]:
    """snmpsim on 127.0.0.1:<free port>, serving every recording by its file stem."""
    root = tmp_path_factory.mktemp("snmpsim")
    folders = [write_owned(root / "owned"), root / "synthetic"]
    write_synthetic(folders[1])
    if SNMPREC_DIR.is_dir():
        folders.append(SNMPREC_DIR)
    with Snmpsim.start(folders, root / "cache", root / "snmpsim.log") as sim:
        yield sim
