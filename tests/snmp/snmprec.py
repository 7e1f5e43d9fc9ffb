"""A tiny reader of snmpsim ``.snmprec`` recordings, and a column walk over them.

Lines are ``OID|TYPE|VALUE``. Values come out as the SNMP client hands them to profiles:
``int`` for numeric types, ``bytes`` for OCTET STRING (``4x`` is hex), a dotted ``str`` for
OIDs. Variation lines ``TYPE:module|options`` keep their value when it is written in the
options (``writecache`` ``value=``, ``numeric`` ``initial=``) and are skipped otherwise.
"""

from __future__ import annotations

from pathlib import Path

Value = int | bytes | str

_NUMERIC = frozenset({"2", "65", "66", "67", "70"})  # INTEGER, Counter32, Gauge32, ...


def _value(kind: str, text: str) -> Value:
    if kind in _NUMERIC:
        return int(text)
    if kind == "4":
        return text.encode()
    if kind == "4x":
        return bytes.fromhex(text)
    if kind == "6":
        return text.lstrip(".")
    return text  # IpAddress and anything else: as written


def _variation(kind: str, options: str) -> Value | None:
    """The value of a ``TYPE:module|options`` line where the options state it, else None."""
    base, _, module = kind.partition(":")
    settings = dict(part.partition("=")[::2] for part in options.split(","))
    if module == "writecache" and options.startswith("value="):
        return _value(base, options[len("value=") :])
    if module == "numeric" and "initial" in settings:
        return _value(base, settings["initial"])
    return None


def parse(path: Path) -> dict[str, Value]:
    """Every line of a recording: dotted OID (no leading dot) -> value, in file order."""
    records: dict[str, Value] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        oid, kind, text = line.split("|", 2)
        value = _variation(kind, text) if ":" in kind else _value(kind, text)
        if value is not None:
            records[oid.lstrip(".")] = value
    return records


def walk(records: dict[str, Value], root: str) -> dict[tuple[int, ...], Value]:
    """What walking ``root`` returns: index (OID suffix) -> value; empty when absent."""
    prefix = root.lstrip(".") + "."
    return {
        tuple(int(part) for part in oid[len(prefix) :].split(".")): value
        for oid, value in records.items()
        if oid.startswith(prefix)
    }


def table(
    records: dict[str, Value], columns: tuple[str, ...]
) -> dict[str, dict[tuple[int, ...], Value]]:
    """A profile's ``Table``: each walked column that the recording has, as the client gives it.

    A column the device lacks is left out, as a walk past the end of a subtree returns nothing.
    """
    walked = {column: walk(records, column) for column in columns}
    return {column: rows for column, rows in walked.items() if rows}


def sys_object_id(records: dict[str, Value]) -> str:
    value = records["1.3.6.1.2.1.1.2.0"]
    return value.decode() if isinstance(value, bytes) else str(value)


def sys_descr(records: dict[str, Value]) -> str:
    value = records["1.3.6.1.2.1.1.1.0"]
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
