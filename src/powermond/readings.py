"""The domain values that flow from collectors to the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class OutletReading:
    """One outlet's values in one cycle; ``None`` where the PDU gives no such value.

    ``outlet`` is the outlet label as printed on the PDU: ``"N"`` for unit 1 (or a
    standalone PDU), ``"U.N"`` for unit U of a daisy chain, or a vendor ID such as
    ServerTech's ``"AB3"``.
    """

    outlet: str
    watts: float | None
    amps: float | None
    energy_kwh: float | None


#: The label of a PDU's own inlet meter (unit 1, inlet 1); ``inlet.N`` and ``inlet.U.N``
#: are inlet or input cord N (of unit U). Stored and mapped like outlets.
INLET = "inlet"


def is_inlet(label: str) -> bool:
    """Whether an outlet label names the PDU's inlet meter rather than an outlet."""
    return label == INLET or label.startswith(INLET + ".")


@dataclass(frozen=True, slots=True)
class LoadSample:
    """CPU load averages of one machine at one time (UTC)."""

    time: datetime
    load1: float | None
    load5: float | None
    load15: float | None
