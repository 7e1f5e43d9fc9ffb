"""``--since`` / ``--until``: ISO-8601 dates or times (UTC unless an offset is given) or
relative ``-24h``, ``-7d``, ``-30m``, ``-2w``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RELATIVE = re.compile(r"^-(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """An aware UTC datetime; raises ValueError with a message fit for the operator."""
    text = text.strip()
    match = _RELATIVE.match(text)
    if match:
        base = now or datetime.now(UTC)
        return base - timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is neither an ISO-8601 date/time nor a relative time like -24h or -7d"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def check_period(since: datetime, until: datetime) -> None:
    """Raise ValueError unless ``since`` is before ``until`` (one message for every command)."""
    if since >= until:
        since_z = since.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
        until_z = until.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
        raise ValueError(f"--since {since_z}Z is not before --until {until_z}Z")
