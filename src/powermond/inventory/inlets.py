"""Machines mapped to a PDU's inlet meter (``PDU:inlet``) and the double-count rule.

An inlet meters every outlet of its unit: a machine mapped to the inlet and any machine
mapped to one of those outlets would count that outlet's power twice (in the machine
totals and in ``report --by machine``). ``config check`` refuses such a mapping.

Which outlets an inlet feeds: on a daisy chain, only its own unit's (``inlet.U.N`` feeds
``U.*``). ServerTech IDs name the cord too (``AB3`` is tower A, infeed/cord B: ``inlet.2``),
so there only that cord's outlets count; for every other vendor the MIB does not say which
outlets a unit's second inlet feeds, so any inlet of a unit is taken to feed all of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from powermond.inventory.model import MachineConfig
from powermond.readings import INLET, is_inlet

_LETTERS = re.compile(r"^([A-Z])([A-Z])\d+$")


def inlet_of(label: str) -> tuple[int, int]:
    """(unit, inlet number) of a normalized inlet label."""
    parts = [int(p) for p in label.removeprefix(INLET).lstrip(".").split(".") if p]
    if not parts:
        return 1, 1
    if len(parts) == 1:
        return 1, parts[0]
    return parts[0], parts[1]


def fed_by(label: str) -> tuple[int, int | None]:
    """(unit, inlet number or None when unknown) of a normalized outlet label."""
    if letters := _LETTERS.match(label):
        return ord(letters[1]) - 64, ord(letters[2]) - 64
    if "." in label:
        return int(label.split(".")[0]), None
    return 1, None


def _counts_twice(inlet: str, outlet: str) -> bool:
    unit, number = inlet_of(inlet)
    outlet_unit, outlet_inlet = fed_by(outlet)
    return unit == outlet_unit and outlet_inlet in (None, number)


def double_counted(machines: Mapping[str, MachineConfig], path: Path) -> list[str]:
    """A problem for each inlet mapped together with an outlet it meters."""
    mapped = [(m.name, ref.pdu, ref.label) for m in machines.values() for ref in m.outlets]
    problems: list[str] = []
    for machine, pdu, inlet in mapped:
        if not is_inlet(inlet):
            continue
        clashes = _clashes(mapped, pdu, inlet)
        if clashes:
            problems.append(
                f'{path}: [machine."{machine}"] outlets: {pdu}:{inlet} meters outlets also '
                f"mapped ({', '.join(clashes)}), so their power would count twice; map "
                f"either the inlet or the outlets of {pdu}"
            )
    return problems


def _clashes(mapped: Iterable[tuple[str, str, str]], pdu: str, inlet: str) -> list[str]:
    return [
        f'{pdu}:{label} of machine "{machine}"'
        for machine, other, label in mapped
        if other == pdu and not is_inlet(label) and _counts_twice(inlet, label)
    ]
