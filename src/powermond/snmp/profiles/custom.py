"""The custom ``oid`` form, and watts derived from current for current-only PDUs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from powermond.readings import OutletReading
from powermond.snmp.profiles._common import (
    ColumnProfile,
    Index,
    Quantity,
    unit_label,
)
from powermond.snmp.profiles.base import Decoded, Profile, Table, walks

OID_PROFILE = "oid"


def _oid_label(_table: Table) -> Callable[[Index], str]:
    """``N`` is the outlet number; a two-part index ``U.N`` is unit U, outlet N."""

    def label(index: Index) -> str:
        if len(index) == 1:
            return unit_label(1, index[0])
        unit, outlet = index
        return unit_label(unit, outlet)

    return label


def _divisor(scale: float) -> float:
    """A divisor equal to ``1/scale``: 0.1 becomes 10, so 9 x 0.1 decodes to exactly 0.9."""
    inverse = 1 / scale
    return float(round(inverse)) if abs(inverse - round(inverse)) < 1e-9 else inverse


def oid_profile(oid: str, quantity: str = "power", scale: float = 1.0) -> ColumnProfile:
    """One root OID walked as one column of watts (``"power"``) or amps (``"current"``)."""
    if quantity not in ("power", "current"):
        raise ValueError(f'quantity {quantity!r} is not "power" or "current"')
    if scale <= 0:
        raise ValueError(f"scale {scale!r} is not positive")
    column = Quantity(oid.lstrip("."), _divisor(scale))
    power = quantity == "power"
    return ColumnProfile(
        name=OID_PROFILE,
        watts=column if power else None,
        amps=None if power else column,
        energy=None,
        labels=_oid_label,
    )


@dataclass(frozen=True, slots=True)
class WithVoltage:
    """A profile whose readings without watts get ``amps x voltage x power_factor``.

    Only for PDUs that measure current but not power, and only where the operator
    configured the supply voltage; a measured value is never replaced.
    """

    inner: Profile
    voltage: float
    power_factor: float = 1.0

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def columns(self) -> tuple[str, ...]:
        return self.inner.columns

    @property
    def walks(self) -> tuple[tuple[str, ...], ...]:
        return walks(self.inner)

    def decode(self, table: Table) -> Decoded:
        decoded = self.inner.decode(table)
        volt_amps = self.voltage * self.power_factor
        readings = tuple(
            OutletReading(r.outlet, r.amps * volt_amps, r.amps, r.energy_kwh)
            if r.watts is None and r.amps is not None
            else r
            for r in decoded.readings
        )
        return Decoded(readings, decoded.warnings)
