"""Logging to stderr in a form journald understands, with a safety net for secrets.

Under systemd, stderr is a stream into journald (``$JOURNAL_STREAM`` names it). journald
stamps every line itself and reads a ``<N>`` syslog priority prefix, so there each line is
``<N>message`` with no timestamp. Anywhere else (a terminal, a file, a pipe) lines carry a
timestamp and the level name.

With ``[daemon] log_format = "json"`` each record is one JSON object (python-json-logger):
``level``, ``logger``, ``message``, any structured fields the call passed in ``extra``
(``pdu``, ``cycle``, ``duration``...), ``time`` outside journald; under journald the line
still starts with its ``<N>`` priority.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import TextIO
from urllib.parse import quote

LOGGER_NAME = "powermond"

# syslog(3) priorities; journald maps them to PRIORITY=.
_PRIORITIES = (
    (logging.CRITICAL, 2),
    (logging.ERROR, 3),
    (logging.WARNING, 4),
    (logging.INFO, 6),
)
_DEBUG_PRIORITY = 7

# Libraries that chatter at INFO/DEBUG about their own mechanics (every scheduled job run,
# every file event, every SQL connection): operators only need their warnings.
NOISY_LIBRARIES = (
    "pysnmp",
    "pyasn1",
    "asyncio",
    "apscheduler",
    "aiosqlite",
    "asyncmy",
    "sqlalchemy",
    "alembic",
    "watchfiles",
    "matplotlib",
    "PIL",
)

# Shorter secrets would turn common words into "***"; they are SecretStr everywhere anyway.
MIN_SECRET_CHARS = 4
REDACTED = "***"


def syslog_priority(levelno: int) -> int:
    for level, priority in _PRIORITIES:
        if levelno >= level:
            return priority
    return _DEBUG_PRIORITY


class JournalFormatter(logging.Formatter):
    """``<N>message``; every line of a multi-line record (tracebacks) keeps the priority,
    since journald starts a new entry, with the default priority, at each newline."""

    def __init__(self) -> None:
        super().__init__("%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if not _is_own(record.name):
            text = f"{record.name}: {text}"
        prefix = f"<{syslog_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in text.splitlines() or [""])


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record; ``<N>`` before it under journald."""

    def __init__(self, *, journal: bool) -> None:
        from pythonjsonlogger.json import JsonFormatter

        super().__init__()
        self._journal = journal
        self._json = JsonFormatter(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger", "asctime": "time"},
            timestamp="time" if not journal else False,
        )

    def format(self, record: logging.LogRecord) -> str:
        text = self._json.format(record)
        return f"<{syslog_priority(record.levelno)}>{text}" if self._journal else text


class ConsoleFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")


def _is_own(name: str) -> bool:
    return name == LOGGER_NAME or name.startswith(LOGGER_NAME + ".")


class SecretRegistry:
    """Values that must never reach a log line, replaced longest first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: set[str] = set()
        self._values: tuple[str, ...] = ()
        self._stale = False  # _values lags _known: sorted on the next redact, not per add

    def add(self, value: str) -> None:
        # URLs carry passwords percent-encoded: hide that spelling as well.
        candidates = {value, quote(value, safe="")}
        with self._lock:  # 10,000 PDUs register 10,000 communities: no sort per value
            new = {v for v in candidates if len(v) >= MIN_SECRET_CHARS} - self._known
            if new:
                self._known |= new
                self._stale = True

    def clear(self) -> None:
        with self._lock:
            self._known = set()
            self._values = ()
            self._stale = False

    def _ordered(self) -> tuple[str, ...]:
        if self._stale:
            with self._lock:
                self._values = tuple(sorted(self._known, key=len, reverse=True))
                self._stale = False
        return self._values

    def redact(self, text: str) -> str:
        for value in self._ordered():
            if value in text:
                text = text.replace(value, REDACTED)
        return text

    def __bool__(self) -> bool:
        return bool(self._known)


_secrets = SecretRegistry()


def register_secret(value: str) -> None:
    """Never log ``value`` (a community, a v3 key, a database password) verbatim."""
    _secrets.add(value)


def forget_secrets() -> None:
    """Drop all registered values (tests; a reload may re-register the current ones)."""
    _secrets.clear()


class RedactSecrets(logging.Filter):
    """Rewrites a record so registered secrets are replaced by ``***``.

    Attached to the handler, so it sees records from every logger, and it renders the
    message and traceback itself so secrets inside arguments or exceptions are caught too.
    """

    def __init__(self, registry: SecretRegistry | None = None) -> None:
        super().__init__()
        self._registry = registry if registry is not None else _secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._registry:
            return True
        record.msg = self._registry.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._registry.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._registry.redact(record.stack_info)
        return True


def under_journald(stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    """True when ``stream`` is the journal stream systemd connected (``$JOURNAL_STREAM``).

    The variable is inherited by children whose stderr may be redirected elsewhere, so it
    only counts when its ``device:inode`` is the stream's own.
    """
    value = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        stat = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        # No real file descriptor (e.g. a test's StringIO): it cannot be the journal.
        return False
    return (stat.st_dev, stat.st_ino) == (int(device), int(inode))


_HANDLER_MARK = "_powermond_handler"


def setup_logging(*, debug: bool = False, stream: TextIO | None = None, json: bool = False) -> None:
    """Send every logger's records to stderr (or ``stream``); safe to call again."""
    out = sys.stderr if stream is None else stream
    handler = logging.StreamHandler(out)
    journal = under_journald(out)
    formatter: logging.Formatter
    if json:
        formatter = JsonLinesFormatter(journal=journal)
    else:
        formatter = JournalFormatter() if journal else ConsoleFormatter()
    handler.setFormatter(formatter)
    handler.addFilter(RedactSecrets())
    setattr(handler, _HANDLER_MARK, True)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    logging.getLogger(LOGGER_NAME).setLevel(logging.DEBUG if debug else logging.INFO)
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
