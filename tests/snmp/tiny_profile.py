"""A minimal vendor profile for client and cycle tests, independent of the real profiles.

Columns are (watts, amps[, energy]); the index is the outlet number; amps and energy are
raw / 10. Bad values become None with a warning; an outlet with neither value is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from powermond.readings import OutletReading
from powermond.snmp.profiles.base import Decoded, Table

APC_RPDU2 = "1.3.6.1.4.1.318.1.1.26.9.4.3.1"


@dataclass(frozen=True)
class TinyProfile:
    name: str
    columns: tuple[str, ...]

    def decode(self, table: Table) -> Decoded:
        watts_rows = table.get(self.columns[0], {})
        amps_rows = table.get(self.columns[1], {})
        energy_rows = table.get(self.columns[2], {}) if len(self.columns) > 2 else {}
        warnings: list[str] = []
        readings = []
        for index in sorted(set(watts_rows) | set(amps_rows)):
            outlet = ".".join(map(str, index))
            watts = _number(watts_rows.get(index), 1, 100_000, outlet, "watts", warnings)
            amps = _number(amps_rows.get(index), 10, 1_000, outlet, "amps", warnings)
            energy = _number(energy_rows.get(index), 10, 1e8, outlet, "energy", warnings)
            if watts is None and amps is None:
                warnings.append(f"outlet {outlet} skipped: no usable value")
                continue
            readings.append(OutletReading(outlet, watts, amps, energy))
        return Decoded(tuple(readings), tuple(warnings))


def _number(
    raw: object, divisor: float, limit: float, outlet: str, what: str, warnings: list[str]
) -> float | None:
    if raw is None:
        return None
    if not isinstance(raw, int) or raw < 0 or raw / divisor > limit:
        warnings.append(f"outlet {outlet}: {what} {raw!r} ignored")
        return None
    return raw / divisor


APC_TINY = TinyProfile("tiny-apc", (f"{APC_RPDU2}.7", f"{APC_RPDU2}.6", f"{APC_RPDU2}.11"))
BAD_TINY = TinyProfile("tiny-bad", ("1.3.6.1.4.1.99999.1.1.2", "1.3.6.1.4.1.99999.1.1.3"))
