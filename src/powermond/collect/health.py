"""Per-PDU health as the operator sees it: a state, since when, last success, last error.

Pure: :class:`HealthBook` turns each cycle's :class:`~powermond.collect.cycle.CycleResult`
into :class:`PduHealthState` values; :mod:`powermond.db.health` stores them and the metrics
expose them. The daemon keeps one book for its lifetime (seeded from the database when it
starts); ``powermon poll`` reads the stored states, adds its one cycle and writes them back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # not imported by the readers of stored states (`pdus`, `status`)
    from powermond.collect.cycle import CycleResult, PduResult

#: A PDU's error when it answers with none of its profile's columns.
NO_TABLE = "no outlet table: the PDU has none of the profile's columns (wrong profile?)"

State = Literal["up", "down", "never answered", "no outlet table"]
STATES: tuple[State, ...] = ("up", "down", "never answered", "no outlet table")

#: SNMP error kinds the metrics count (``powermon_snmp_errors_total{kind}``).
ErrorKind = Literal["timeout", "auth", "decode", "other"]
ERROR_KINDS: tuple[ErrorKind, ...] = ("timeout", "auth", "decode", "other")

_TIMEOUT_HINTS = ("timeout", "cycle deadline", "no answer")
_AUTH_HINTS = ("authentication", "privacy", "unknown user", "wrongdigest", "decryption")
_DECODE_HINTS = ("no outlet table", "could not decode", "no outlet readings", "decode", "ber")


@dataclass(frozen=True, slots=True)
class PduHealthState:
    """One PDU's health after its latest cycle."""

    pdu: str
    state: State
    since: datetime  # when it entered ``state``
    checked: datetime  # the latest cycle that polled it
    last_success: datetime | None = None
    last_error: str | None = None  # kept after recovery: the sentence the log had
    failures: int = 0  # consecutive failed cycles
    walk_seconds: float | None = None

    @property
    def up(self) -> bool:
        return self.state == "up"


def error_kind(error: str) -> ErrorKind:
    """Classify a PDU's error sentence (the cycle carries sentences, not exception types)."""
    lowered = error.lower()
    if any(h in lowered for h in _TIMEOUT_HINTS):
        return "timeout"
    if any(h in lowered for h in _AUTH_HINTS):
        return "auth"
    if any(h in lowered for h in _DECODE_HINTS):
        return "decode"
    return "other"


def next_state(
    previous: PduHealthState | None, result: PduResult, cycle: datetime
) -> PduHealthState:
    """``previous`` (``None``: never polled) after ``result`` of the cycle at ``cycle``."""
    if result.ok:
        state: State = "up"
    elif result.error == NO_TABLE:
        state = "no outlet table"
    elif previous is None or previous.last_success is None:
        state = "never answered"
    else:
        state = "down"
    since = previous.since if previous is not None and previous.state == state else cycle
    base = previous or PduHealthState(result.pdu, state, cycle, cycle)
    return replace(
        base,
        state=state,
        since=since,
        checked=cycle,
        last_success=cycle if result.ok else base.last_success,
        last_error=base.last_error if result.ok else result.error,
        failures=0 if result.ok else base.failures + 1,
        walk_seconds=result.seconds,
    )


class HealthBook:
    """Every polled PDU's current :class:`PduHealthState`, by name."""

    def __init__(self, states: Mapping[str, PduHealthState] | None = None) -> None:
        self._states: dict[str, PduHealthState] = dict(states or {})
        self.seeded = states is not None

    def seed(self, states: Mapping[str, PduHealthState]) -> None:
        """Start from stored states (once); what this process saw already wins."""
        self._states = {**states, **self._states}
        self.seeded = True

    def observe(self, result: CycleResult) -> list[PduHealthState]:
        """Apply one cycle; returns the new states of the PDUs it polled."""
        changed = [next_state(self._states.get(r.pdu), r, result.cycle) for r in result.results]
        self._states.update((s.pdu, s) for s in changed)
        return changed

    def retain(self, names: Iterable[str]) -> None:
        """Forget PDUs no longer configured (they leave the exposition too)."""
        keep = set(names)
        self._states = {n: s for n, s in self._states.items() if n in keep}

    def states(self) -> dict[str, PduHealthState]:
        return dict(self._states)

    def counts(self) -> dict[State, int]:
        found = dict.fromkeys(STATES, 0)
        for state in self._states.values():
            found[state.state] += 1
        return found
