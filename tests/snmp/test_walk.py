"""The walk itself (``snmp.client.walk``) against a scripted GETBULK agent in this process:
which OIDs end a column, and how many rows each round asks for."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import pytest

from powermond.snmp.ber import END_OF_MIB_VIEW, Oid, Varbind, WireValue
from powermond.snmp.client import walk

pytestmark = pytest.mark.timeout(10)

TABLE = (1, 3, 6, 1, 4, 1, 318, 1, 1, 26, 9, 4, 3, 1)
COLUMNS = [".".join(map(str, (*TABLE, c))) for c in (7, 6, 11, 2, 4)]


class CappedAgent:
    """GETBULK over a sorted MIB, at most ``cap`` varbinds an answer (net-snmp: 100)."""

    def __init__(self, mib: dict[Oid, WireValue], cap: int = 100) -> None:
        self.oids = sorted(mib)
        self.mib = mib
        self.cap = cap
        self.asked: list[int] = []

    async def request(self, oids: Sequence[Oid], reps: int) -> list[Varbind]:
        self.asked.append(reps)
        rows = max(1, min(reps, self.cap // len(oids)))
        cursors = list(oids)
        out: list[Varbind] = []
        for _ in range(rows):
            for j, after in enumerate(cursors):
                i = bisect.bisect_right(self.oids, after)
                if i == len(self.oids):
                    out.append((after, END_OF_MIB_VIEW))
                    continue
                cursors[j] = self.oids[i]
                out.append((self.oids[i], self.mib[self.oids[i]]))
        return out


def outlet_table(outlets: int) -> dict[Oid, WireValue]:
    mib: dict[Oid, WireValue] = {(*TABLE, c, n): 100 * c + n for c in (2, 4, 6, 7, 11)
                                 for n in range(1, outlets + 1)}  # fmt: skip
    mib[(1, 3, 6, 1, 4, 1, 318, 2, 1)] = 0  # something after the table
    return mib


async def test_a_round_after_a_capped_answer_asks_for_the_rows_still_expected() -> None:
    agent = CappedAgent(outlet_table(48))
    # 5 columns, 100 varbinds an answer: 20 rows, then 20, then the last 8 and the end.
    table, rounds = await walk(agent.request, COLUMNS, 49, expected=48)
    assert agent.asked == [49, 29, 9]  # not 49 three times: 60 varbinds past the table
    assert rounds == 3
    assert all(len(rows) == 48 for rows in table.values())
    assert table[COLUMNS[0]][(48,)] == 748


async def test_a_table_grown_since_the_last_walk_is_still_walked_whole() -> None:
    agent = CappedAgent(outlet_table(96))
    table, _rounds = await walk(agent.request, COLUMNS, 49, expected=48)
    assert all(len(rows) == 96 for rows in table.values())
    assert agent.asked[:3] == [49, 29, 9]
    assert agent.asked[3] == 49  # past the 48 expected: as many as at first


async def test_without_expectations_every_round_asks_the_same() -> None:
    agent = CappedAgent(outlet_table(48))
    await walk(agent.request, COLUMNS, 64)
    assert agent.asked == [64, 64, 64]


async def test_a_column_ends_at_the_first_oid_past_its_subtree() -> None:
    root = (*TABLE, 7)
    mib: dict[Oid, WireValue] = {
        root: 0,  # the root itself is no row
        (*root, 1): 1,
        (*root, 2, 5): 2,
        (*TABLE, 70, 1): 3,  # ...1.70.1: not under ...1.7, though its text starts so
        (*TABLE, 8, 1): 4,
    }
    agent = CappedAgent(mib)
    table, _ = await walk(agent.request, [".".join(map(str, root))], 10)
    assert table == {".".join(map(str, root)): {(1,): 1, (2, 5): 2}}


async def test_an_agent_that_does_not_advance_ends_the_column() -> None:
    root = (*TABLE, 7)

    async def stuck(oids: Sequence[Oid], reps: int) -> list[Varbind]:
        return [((*root, 3), 30), ((*root, 2), 20), ((*root, 4), 40)]

    table, rounds = await walk(stuck, [".".join(map(str, root))], 3)
    assert table == {".".join(map(str, root)): {(3,): 30}}
    assert rounds == 1


async def test_a_leading_dot_names_the_column_without_it() -> None:
    agent = CappedAgent(outlet_table(2))
    table, _ = await walk(agent.request, ["." + COLUMNS[0]], 3)
    assert list(table) == [COLUMNS[0]]
    assert table[COLUMNS[0]] == {(1,): 701, (2,): 702}
