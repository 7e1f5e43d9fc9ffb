"""The bound on new outlet labels per cycle (collect/outlets.py), and its memory: PDUs that
report the same labels share one remembered set."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from powermond.collect.cycle import CycleResult, PduResult
from powermond.collect.outlets import OutletGrowth
from powermond.readings import OutletReading

pytestmark = pytest.mark.timeout(30)

CYCLE = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def pdu(name: str, labels: list[str]) -> PduResult:
    return PduResult(name, tuple(OutletReading(label, 10.0, None, None) for label in labels))


def outlets_of(result: CycleResult) -> dict[str, list[str]]:
    return {r.pdu: [reading.outlet for reading in r.readings] for r in result.results}


def test_new_labels_beyond_the_cap_are_dropped_and_known_ones_kept() -> None:
    growth = OutletGrowth(per_cycle=2)
    first = [str(n) for n in range(1, 5)]
    growth.cap(CycleResult(CYCLE, (pdu("a", first),)))
    renumbered = [*first, "10", "11", "12"]
    capped = growth.cap(CycleResult(CYCLE, (pdu("a", renumbered),)))
    assert outlets_of(capped) == {"a": [*first, "10", "11"]}
    again = growth.cap(CycleResult(CYCLE, (pdu("a", renumbered),)))
    assert outlets_of(again) == {"a": renumbered}  # "12" is the cycle's one new label now


def test_pdus_of_one_model_share_one_label_set() -> None:
    growth = OutletGrowth()
    labels = [str(n) for n in range(1, 49)]
    growth.cap(CycleResult(CYCLE, tuple(pdu(f"p{i}", labels) for i in range(100))))
    assert len({id(known) for known in growth._known.values()}) == 1
    growth.cap(CycleResult(CYCLE, (pdu("p7", [*labels, "inlet"]),)))  # p7 grew an inlet
    assert growth._known["p7"] == {*labels, "inlet"}
    assert growth._known["p8"] == set(labels)
    growth.forget(["p7"])
    assert len(growth._shared) == 1
