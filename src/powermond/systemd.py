"""systemd service notifications (``sd_notify``) without a libsystemd dependency.

The protocol is one ``KEY=VALUE`` line per field, sent as a single datagram to the
``AF_UNIX`` socket named by ``$NOTIFY_SOCKET`` (a path, or ``@name`` for an abstract
socket). Without ``NOTIFY_SOCKET`` - a terminal, a test, another supervisor - every call is a
silent no-op, so the daemon can call these helpers unconditionally.

A notification is never worth crashing or blocking the daemon for: send errors are logged
at DEBUG and reported as ``False``, and the socket is non-blocking.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)

# systemd truncates STATUS= in `systemctl status`; a short line keeps it readable.
MAX_STATUS_CHARS = 200


class Notifier:
    """Sends notifications to one ``NOTIFY_SOCKET`` address (or nowhere)."""

    def __init__(
        self,
        address: str | None,
        *,
        watchdog_usec: str | None = None,
        watchdog_pid: str | None = None,
    ) -> None:
        self._address = _socket_address(address)
        self._watchdog_interval = _watchdog_interval(watchdog_usec, watchdog_pid)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        return cls(
            env.get("NOTIFY_SOCKET"),
            watchdog_usec=env.get("WATCHDOG_USEC"),
            watchdog_pid=env.get("WATCHDOG_PID"),
        )

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, **fields: str | int) -> bool:
        """Send ``KEY=VALUE`` fields in one datagram; ``True`` if it was handed to the socket."""
        if self._address is None or not fields:
            return False
        payload = "\n".join(f"{key}={value}" for key, value in fields.items()).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.setblocking(False)
                sock.sendto(payload, self._address)
        except OSError as exc:
            # systemd gone, socket queue full, address stale: the service keeps running.
            log.debug("sd_notify %s failed: %s", ",".join(fields), exc)
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """Startup is complete (``Type=notify`` units leave "activating" on this)."""
        if status is None:
            return self.notify(READY=1)
        return self.notify(READY=1, STATUS=one_line(status))

    def reloading(self) -> bool:
        """A reload starts; send :meth:`ready` when it is done (the systemd 253+ protocol).

        MONOTONIC_USEC lets systemd tell this reload from an earlier one; older systemd
        (Debian 12's 252) ignores both fields harmlessly.
        """
        now_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify(RELOADING=1, MONOTONIC_USEC=now_usec)

    def stopping(self) -> bool:
        return self.notify(STOPPING=1)

    def status(self, text: str) -> bool:
        """A one-line summary shown by ``systemctl status``."""
        return self.notify(STATUS=one_line(text))

    def watchdog(self) -> bool:
        """Keep-alive ping; only sent when systemd asked for it (``WATCHDOG_USEC``)."""
        if self._watchdog_interval is None:
            return False
        return self.notify(WATCHDOG=1)

    def watchdog_interval(self) -> float | None:
        """Seconds after which systemd kills a silent service, or ``None`` without watchdog.

        Ping at half this interval (as ``sd_watchdog_enabled(3)`` recommends).
        """
        return self._watchdog_interval


def one_line(text: str) -> str:
    """Collapse whitespace (a newline would end the field) and cap the length."""
    flat = " ".join(text.split())
    if len(flat) > MAX_STATUS_CHARS:
        return flat[: MAX_STATUS_CHARS - 1] + "…"
    return flat


def _socket_address(raw: str | None) -> str | bytes | None:
    if not raw:
        return None
    if raw.startswith("@"):
        # Abstract namespace: a leading NUL byte, no file on disk.
        return b"\0" + raw[1:].encode()
    if raw.startswith("/"):
        return raw
    # e.g. "vsock:..." (systemd 254+ for VMs): not something this daemon runs under.
    log.debug("NOTIFY_SOCKET=%r is not an AF_UNIX address; notifications disabled", raw)
    return None


def _watchdog_interval(usec: str | None, pid: str | None) -> float | None:
    if not usec:
        return None
    # WATCHDOG_PID says which process systemd expects pings from; a child that
    # inherited the environment must not ping on the parent's behalf.
    if pid and pid.strip() != str(os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        log.debug("ignoring malformed WATCHDOG_USEC=%r", usec)
        return None
    return value / 1_000_000 if value > 0 else None


def default_notifier() -> Notifier:
    """A notifier for the current environment (cheap: it only reads a few variables)."""
    return Notifier.from_env()


def ready(status: str | None = None) -> bool:
    return default_notifier().ready(status)


def reloading() -> bool:
    return default_notifier().reloading()


def stopping() -> bool:
    return default_notifier().stopping()


def status(text: str) -> bool:
    return default_notifier().status(text)


def watchdog() -> bool:
    return default_notifier().watchdog()


def watchdog_interval() -> float | None:
    return default_notifier().watchdog_interval()
