"""``report --by pdu`` for PDUs that meter their inlet: the inlet's figures, and beside them
what the outlets add up to and the difference (unmetered outlets, the PDU's own draw)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from powermond.energy import Tally, merge_all
from powermond.report.power import LoadTally, ReportRow, report_row


def pdu_row(
    name: str,
    outlets: Sequence[Tally],
    inlets: Sequence[Tally],
    outlets_peak: float | None,
    load: LoadTally,
) -> ReportRow:
    """A PDU's report line: from its inlet meter(s) when it has any readings of them in the
    period, else from its outlets (``outlets_peak``: the peak of their per-cycle sum).

    The peak of one inlet is exact; with several inlets (cords) it is the sum of each one's
    peak, an upper bound of the peak of their sum.
    """
    outlet_kwh = merge_all(outlets).energy_kwh if outlets else None
    if not inlets:
        row = report_row(name, outlets, outlets_peak, load)
        return replace(row, meter="outlets", outlets_kwh=outlet_kwh)
    peaks = [t.watts_peak for t in inlets if t.watts_peak is not None]
    row = report_row(name, inlets, sum(peaks) if peaks else None, load)
    difference = None
    if row.energy_kwh is not None and outlet_kwh is not None:
        difference = row.energy_kwh - outlet_kwh
    return replace(row, meter="inlet", outlets_kwh=outlet_kwh, difference_kwh=difference)
