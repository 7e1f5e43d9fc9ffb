"""``GET /metrics`` on the daemon's event loop (``[metrics] listen = "HOST:PORT"``).

A small HTTP/1.1 responder on asyncio streams: one request per connection, bounded in size
and time, so a slow or hostile client never holds the loop. The exposition text is made in a
worker thread (it is CPU work proportional to the inventory), so cycles are not delayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Callable

from powermond.metrics import Metrics
from powermond.settings import parse_listen

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 10.0
MAX_HEADER_LINES = 100
MAX_LINE_BYTES = 8192
#: What ``generate_latest`` writes: the text format 0.0.4 (every Prometheus 2.x parses it).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def serve_metrics(
    metrics: Metrics,
    listen: str,
    stop: asyncio.Event,
    on_listening: Callable[[str, int], None] | None = None,
) -> None:
    """Serve until ``stop`` is set. A failure to bind raises (the supervisor ends the daemon)."""
    host, port = parse_listen(listen)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                await _respond(metrics, reader, writer)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass  # the client's problem; nothing to report to the operator
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    if not _is_loopback(host):
        log.warning(
            "metrics: listening on %s, beyond this machine: whoever reaches it reads the "
            "names of PDUs, outlets and machines (no secrets)",
            host,
        )
    server = await asyncio.start_server(handle, host, port, limit=MAX_LINE_BYTES)
    bound = server.sockets[0].getsockname()
    log.info("metrics: serving http://%s:%d/metrics", _url_host(host), bound[1])
    if on_listening is not None:
        on_listening(host, int(bound[1]))
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: the operator's choice


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def _respond(
    metrics: Metrics, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    request = (await reader.readline()).decode("latin-1").split()
    for _ in range(MAX_HEADER_LINES):
        if (await reader.readline()) in (b"\r\n", b"\n", b""):
            break
    if len(request) != 3 or request[0] not in ("GET", "HEAD"):
        _send(writer, 405, b"method not allowed\n", "text/plain; charset=utf-8")
    elif request[1].split("?", 1)[0] != "/metrics":
        _send(writer, 404, b"try /metrics\n", "text/plain; charset=utf-8")
    else:
        body = await asyncio.to_thread(metrics.exposition)
        _send(writer, 200, body, CONTENT_TYPE, head=request[0] == "HEAD")
    await writer.drain()


_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}


def _send(
    writer: asyncio.StreamWriter, status: int, body: bytes, content_type: str, head: bool = False
) -> None:
    header = (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    writer.write(header.encode("latin-1"))
    if not head:
        writer.write(body)
