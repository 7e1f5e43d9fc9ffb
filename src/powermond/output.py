"""Printing data as an aligned table, CSV or JSON (``--format``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TextIO

FORMATS = ("table", "csv", "json")


def iso_z(value: datetime) -> str:
    """ISO-8601 UTC ending in ``Z`` (the JSON contract); naive values are taken as UTC."""
    text = value.replace(tzinfo=None).isoformat(timespec="seconds")
    if value.utcoffset():
        from datetime import UTC

        text = value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    return text + "Z"


def device_text(value: object) -> str:
    """Text a device sent (sysDescr, names), safe for a terminal: bytes decoded as UTF-8
    (undecodable octets replaced), control characters removed (a device's escape sequences
    must not set the terminal's title or colours), whitespace controls made spaces."""
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    return "".join(ch if ch.isprintable() else " " if ch.isspace() else "" for ch in text)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.0f}"
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_z(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def write_json(document: Any, out: TextIO) -> None:
    json.dump(document, out, default=_json_default, indent=2)
    out.write("\n")


def write_rows(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    fmt: str,
    out: TextIO,
    *,
    document: Any = None,
    footer: Mapping[str, Any] | None = None,
) -> None:
    """Rows as ``fmt``. JSON prints ``document`` when given (the contract's shape), else rows.

    ``footer`` is a total line, shown in table form only.
    """
    if fmt == "json":
        write_json(document if document is not None else list(rows), out)
        return
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
        return
    table = [[_cell(row.get(c)) for c in columns] for row in rows]
    if footer is not None:
        table.append([_cell(footer.get(c)) for c in columns])
    widths = [max([len(c)] + [len(r[i]) for r in table]) for i, c in enumerate(columns)]
    numeric = [all(_is_number(r[i]) for r in table if r[i]) for i in range(len(columns))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.rjust(w) if num else c.ljust(w)
            for c, w, num in zip(cells, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out.write(line(list(columns)) + "\n")
    body = table[:-1] if footer is not None else table
    for r in body:
        out.write(line(r) + "\n")
    if footer is not None:
        out.write("  ".join("-" * w for w in widths) + "\n")
        out.write(line(table[-1]) + "\n")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def render(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], fmt: str) -> str:
    buf = io.StringIO()
    write_rows(rows, columns, fmt, buf)
    return buf.getvalue()
