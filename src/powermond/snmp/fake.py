"""A scripted :class:`~powermond.snmp.client.PduTransport` for tests of the poll cycle.

Each PDU (by name) gets a :class:`FakePdu`: the table it answers with, an error it raises,
or a delay. The fake records how many walks ran at once, so tests can check the bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from powermond.inventory.model import PduConfig
from powermond.snmp.client import SnmpError, Value
from powermond.snmp.profiles.base import Table


@dataclass
class FakePdu:
    table: Table = field(default_factory=dict)
    error: SnmpError | None = None
    delay: float = 0.0  # seconds before answering (or failing)
    system: Mapping[str, Value] = field(default_factory=dict)  # answers to get()


class FakeTransport:
    """Answers from ``pdus`` (name -> FakePdu); an unknown PDU times out at once."""

    def __init__(self, pdus: Mapping[str, FakePdu], *, budget: float = 1.0) -> None:
        self.pdus = dict(pdus)
        self.budget = budget
        self.walks: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def request_budget(self, pdu: PduConfig) -> float:
        return self.budget

    async def get(self, pdu: PduConfig, oids: Sequence[str]) -> dict[str, Value]:
        fake = await self._answer(pdu)
        return {oid: fake.system.get(oid) for oid in oids}

    async def walk_columns(
        self, pdu: PduConfig, columns: Sequence[str], *, max_repetitions: int | None = None
    ) -> Table:
        self.walks.append(pdu.name)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            fake = await self._answer(pdu)
        finally:
            self.in_flight -= 1
        return {c: dict(fake.table.get(c, {})) for c in columns}

    async def _answer(self, pdu: PduConfig) -> FakePdu:
        fake = self.pdus.get(pdu.name)
        if fake is None:
            raise SnmpError(f"fake: no PDU {pdu.name}")
        if fake.delay:
            await asyncio.sleep(fake.delay)
        if fake.error is not None:
            raise fake.error
        return fake
