"""Text that came from a device (an SNMP OCTET STRING) as PowerMon prints it.

One helper for every place that shows device text (``probe``'s sysDescr, profile warnings),
so that what a device may send is handled once: bytes are decoded as UTF-8 (undecodable bytes
replaced, never shown as ``b'…'``) and NUL bytes, which firmware pads strings with, dropped.
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
    return text.replace("\x00", "")
