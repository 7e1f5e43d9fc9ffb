"""Text that came from a device (an SNMP OCTET STRING) as PowerMon prints it.

One helper for every place that shows device text (``probe``'s sysDescr, profile warnings),
so that what a device may send is handled once: bytes are decoded as UTF-8 (undecodable bytes
replaced, never shown as ``b'…'``), NUL bytes (firmware pads strings with them) and other
control characters dropped (a device's escape sequences must not set the terminal's title or
colours), whitespace controls made spaces.
"""

from __future__ import annotations


def device_text(value: object) -> str:
    """``value`` as printable text: bytes decoded, NULs removed; ``None`` is empty."""
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        text = bytes(value).decode("utf-8", errors="replace")
    else:
        text = str(value)
    return "".join(ch if ch.isprintable() else " " if ch.isspace() else "" for ch in text)
