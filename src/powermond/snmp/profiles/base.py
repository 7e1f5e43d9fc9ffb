"""What a vendor profile is: the columns it walks and a pure decoder of their rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from powermond.readings import OutletReading

#: A column's rows: table index (the OID suffix after the column) -> value.
#: Values are ``int`` for numeric types, ``bytes`` for OCTET STRING, ``str`` for OIDs,
#: and ``None`` for noSuchObject / noSuchInstance / endOfMibView.
Rows = Mapping[tuple[int, ...], int | bytes | str | None]

#: Every walked column: dotted root OID (no leading dot) -> its rows.
Table = Mapping[str, Rows]


@dataclass(frozen=True, slots=True)
class Decoded:
    """A profile's answer for one PDU walk: the readings, and what was skipped and why.

    ``readings`` hold the outlets and, labelled ``inlet`` / ``inlet.N``, the PDU's own
    inlet meters. ``notes`` say something true of the PDU as a whole that is no fault
    (``switched, not metered per outlet``).
    """

    readings: tuple[OutletReading, ...]
    warnings: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())


class Profile(Protocol):
    """A vendor profile. Implementations are stateless and their ``decode`` is pure."""

    @property
    def name(self) -> str: ...

    @property
    def columns(self) -> tuple[str, ...]:
        """Root OIDs walked each cycle, all fetched in one bulk request where possible."""
        ...

    def decode(self, table: Table) -> Decoded: ...


def walks(profile: Profile) -> tuple[tuple[str, ...], ...]:
    """The column groups walked one after the other for ``profile`` (together: ``columns``).

    A profile may set ``walks`` to keep an inlet's one-row columns out of the outlet table's
    bulk requests: there each short column would carry as many varbinds as the table has
    rows, past its end. Without it, all columns go in one walk.
    """
    groups: tuple[tuple[str, ...], ...] | None = getattr(profile, "walks", None)
    return groups if groups is not None else (profile.columns,)
