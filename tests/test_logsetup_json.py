"""``[daemon] log_format = "json"``: one JSON object per line, priorities kept under journald."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from powermond.logsetup import forget_secrets, register_secret, setup_logging


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    yield
    forget_secrets()
    setup_logging()


def test_json_lines_carry_level_logger_message_and_fields() -> None:
    out = io.StringIO()
    setup_logging(stream=out, json=True)
    register_secret("hunter2-community")
    logging.getLogger("powermond").info(
        "cycle %s done with hunter2-community", "c1", extra={"cycle": "c1", "duration": 0.5}
    )
    logging.getLogger("powermond.collect.poll").warning("PDU x down", extra={"pdu": "x"})
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["level"] == "INFO"
    assert first["logger"] == "powermond"
    assert first["message"] == "cycle c1 done with ***"
    assert (first["cycle"], first["duration"]) == ("c1", 0.5)
    assert "time" in first
    assert (second["level"], second["pdu"]) == ("WARNING", "x")


def test_under_journald_a_json_line_keeps_its_priority(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (tmp_path / "journal").open("w") as stream:
        info = os.fstat(stream.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{info.st_dev}:{info.st_ino}")
        setup_logging(stream=stream, json=True)
        logging.getLogger("powermond").error("database unavailable")
    line = (tmp_path / "journal").read_text().strip()
    assert line.startswith("<3>{")
    document = json.loads(line[3:])
    assert document["message"] == "database unavailable"
    assert "time" not in document  # journald stamps entries itself
