"""Logging format under journald and on a console, checked in real child processes."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from powermond import logsetup
from powermond.logsetup import RedactSecrets, SecretRegistry, register_secret

# Run in a fresh interpreter: what `powermond` does at startup, then one line per level.
CHILD = """
import logging, sys
from powermond.logsetup import setup_logging, register_secret
setup_logging(debug="--debug" in sys.argv)
log = logging.getLogger("powermond.collect")
log.debug("debug line")
log.info("info line")
log.warning("warning line")
log.error("error line")
log.critical("critical line")
logging.getLogger("apscheduler.scheduler").info("Running job every 5 minutes")
logging.getLogger("sqlalchemy.pool").warning("pool warning")
register_secret("s3cr3t-community")
log.info("walking rack-a1 with community %s", "s3cr3t-community")
try:
    raise RuntimeError("two\\nlines")
except RuntimeError:
    log.exception("cycle failed")
"""

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


def _run_child(journal_stream: str | None, *args: str) -> list[str]:
    """Run CHILD with stderr on a pipe; JOURNAL_STREAM="match" names that very pipe."""
    read_fd, write_fd = os.pipe()
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    if journal_stream == "match":
        stat = os.fstat(write_fd)
        env["JOURNAL_STREAM"] = f"{stat.st_dev}:{stat.st_ino}"
    elif journal_stream is not None:
        env["JOURNAL_STREAM"] = journal_stream
    try:
        subprocess.run(
            [sys.executable, "-c", CHILD, *args], env=env, stderr=write_fd, check=True, timeout=60
        )
    finally:
        os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        return pipe.read().splitlines()


def test_journal_lines_have_priorities_and_no_timestamps() -> None:
    lines = _run_child("match")
    assert lines[:4] == ["<6>info line", "<4>warning line", "<3>error line", "<2>critical line"]
    # Library records keep their logger name; apscheduler's INFO chatter is gone.
    assert lines[4] == "<4>sqlalchemy.pool: pool warning"
    assert not any("Running job" in line for line in lines)
    assert not any(TIMESTAMP.match(line.lstrip("<0123456789>")) for line in lines)


def test_journal_traceback_lines_all_carry_the_error_priority() -> None:
    lines = _run_child("match")
    start = lines.index("<3>cycle failed")
    traceback = lines[start + 1 :]
    assert traceback[0] == "<3>Traceback (most recent call last):"
    assert traceback[-2:] == ["<3>RuntimeError: two", "<3>lines"]
    assert all(line.startswith("<3>") for line in traceback)


def test_journal_debug_priority() -> None:
    assert _run_child("match", "--debug")[0] == "<7>debug line"


def test_console_lines_have_timestamps_and_levels() -> None:
    lines = _run_child(None)
    info = next(line for line in lines if line.endswith("info line"))
    assert TIMESTAMP.match(info)
    assert "INFO" in info
    assert "powermond.collect" in info
    assert not any(line.startswith("<") for line in lines)
    assert not any("debug line" in line for line in lines)


def test_inherited_journal_stream_for_another_file_is_ignored() -> None:
    """A child of a systemd service whose stderr was redirected: not the journal."""
    lines = _run_child("1:1")
    assert TIMESTAMP.match(lines[0])


def test_secret_is_redacted_in_the_child() -> None:
    lines = _run_child("match")
    assert "<6>walking rack-a1 with community ***" in lines
    assert not any("s3cr3t" in line for line in lines)


@pytest.mark.parametrize(
    ("levelno", "priority"),
    [
        (logging.DEBUG, 7),
        (logging.INFO, 6),
        (25, 6),
        (logging.WARNING, 4),
        (logging.ERROR, 3),
        (logging.CRITICAL, 2),
        (60, 2),
    ],
)
def test_syslog_priority(levelno: int, priority: int) -> None:
    assert logsetup.syslog_priority(levelno) == priority


# --- redaction in-process --------------------------------------------------------------


@pytest.fixture
def registry() -> SecretRegistry:
    return SecretRegistry()


def _record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("powermond", logging.INFO, __file__, 1, msg, args, exc_info)


def test_redacts_message_arguments_and_exceptions(registry: SecretRegistry) -> None:
    registry.add("hunter22")
    try:
        raise ConnectionError("login root:hunter22 refused")
    except ConnectionError as exc:
        record = _record("db url mysql://root:%s@db/pm", "hunter22", exc=exc)
    assert RedactSecrets(registry).filter(record)
    text = logging.Formatter().format(record)
    assert "hunter22" not in text
    assert "db url mysql://root:***@db/pm" in text
    assert "login root:*** refused" in text


def test_redacts_the_url_encoded_spelling(registry: SecretRegistry) -> None:
    registry.add("p@ss/word")
    record = _record("postgresql://pm:p%40ss%2Fword@db/pm and p@ss/word")
    RedactSecrets(registry).filter(record)
    assert record.getMessage() == "postgresql://pm:***@db/pm and ***"


def test_longest_secret_wins(registry: SecretRegistry) -> None:
    registry.add("public")
    registry.add("public-rack-a1")
    record = _record("community public-rack-a1")
    RedactSecrets(registry).filter(record)
    assert record.getMessage() == "community ***"


def test_short_values_are_not_treated_as_secrets(registry: SecretRegistry) -> None:
    registry.add("ab")
    record = _record("table of labels")
    RedactSecrets(registry).filter(record)
    assert record.getMessage() == "table of labels"


@pytest.fixture
def clean_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    logsetup.forget_secrets()
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.mark.usefixtures("clean_logging")
def test_setup_logging_twice_keeps_one_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    logsetup.setup_logging(stream=first)
    logsetup.setup_logging(stream=second)
    register_secret("topsecret-key")
    logging.getLogger("powermond.daemon").warning("key is topsecret-key")
    assert first.getvalue() == ""
    assert second.getvalue().rstrip().endswith("WARNING powermond.daemon: key is ***")
    assert logging.getLogger("pysnmp").level == logging.WARNING


def test_secrets_added_after_a_redaction_are_redacted_too_longest_first() -> None:
    registry = SecretRegistry()
    for i in range(2000):  # a large site: one community per PDU
        registry.add(f"community-{i:04d}")
    assert registry.redact("x community-0007 y") == "x *** y"
    registry.add("community-0007-long")  # after the first redact sorted the values
    assert registry.redact("a community-0007-long b") == "a *** b"
    registry.clear()
    assert not registry
    assert registry.redact("community-0007") == "community-0007"
