"""The PDU assignment: balanced, only the departed's PDUs move, pinning respected."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from powermond.collect.assign import Member, assign, share, shares, weight

WEIGHT = 0xCAFF1B59C3D176C3  # weight("collector-0", "rack-a000"), fixed for ever
PDUS = [f"rack-{row}{n:03d}" for row in "abcd" for n in range(250)]  # 1,000 PDUs
GREEK = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]
NAME_SETS = {
    "fqdn": lambda i: f"collector-{i}.example.org",
    "short": lambda i: f"c{i + 1}",
    "hosts": lambda i: f"pm{i:02d}.dc{i % 3}.site",
    "greek": lambda i: GREEK[i],
}
CASES = [pytest.param(names, k, id=f"{names}-{k}") for names in NAME_SETS for k in range(2, 11)]


def _collectors(k: int, names: str = "fqdn") -> list[Member]:
    return [Member(NAME_SETS[names](i)) for i in range(k)]


def _within_ten_percent(loads: Counter[str | None], collectors: int) -> None:
    assert None not in loads
    assert sum(loads.values()) == len(PDUS)
    fair = len(PDUS) / collectors
    assert len(loads) == collectors
    for collector, load in loads.items():
        assert abs(load - fair) <= 0.10 * fair, (collector, load, fair)


@pytest.mark.parametrize(("names", "k"), CASES)
def test_shares_differ_by_one_pdu_at_most(names: str, k: int) -> None:
    known = _collectors(k, names)
    loads = Counter(assign(PDUS, known, known).values())
    _within_ten_percent(loads, k)
    assert set(loads.values()) <= {len(PDUS) // k, -(-len(PDUS) // k)}, loads
    assert assign(PDUS, known) == assign(PDUS, known, known)  # known: at least the live


@pytest.mark.parametrize(("names", "k"), CASES)
def test_a_departure_moves_its_pdus_only_and_they_spread_evenly(names: str, k: int) -> None:
    known = _collectors(k, names)
    before = assign(PDUS, known, known)
    for gone in known:
        live = [m for m in known if m != gone]
        after = assign(PDUS, live, known)
        moved = {p for p in PDUS if after[p] != before[p]}
        assert moved == {p for p in PDUS if before[p] == gone.name}, gone
        loads = Counter(after.values())
        _within_ten_percent(loads, k - 1)
        # Its PDUs' second choices are bounded too: every share within two PDUs of fair.
        assert all(abs(load - len(PDUS) / (k - 1)) < 2 for load in loads.values()), loads
        # It comes back: the assignment before it left, exactly (rows in any order).
        assert assign(PDUS, reversed(known), live) == before


@pytest.mark.parametrize("k", [4, 7])
def test_any_departures_move_only_the_departed_pdus(k: int) -> None:
    # A PDU's collector is the first live one of a ranking made over the known collectors:
    # it changes only when that collector leaves, whoever else does.
    known = _collectors(k, "hosts")
    before = assign(PDUS, known, known)
    for gone in itertools.combinations(known, 2):
        live = [m for m in known if m not in gone]
        after = assign(PDUS, live, known)
        names = {m.name for m in gone}
        assert all(after[p] == before[p] for p in PDUS if before[p] not in names)
        assert all(after[p] in {m.name for m in live} for p in PDUS)
        # One returns: it takes back its own PDUs and polls some of the other's meanwhile.
        back = assign(PDUS, [*live, gone[0]], known)
        assert {p for p in PDUS if back[p] != after[p]} == {
            p for p in PDUS if back[p] == gone[0].name
        }
        assert all(back[p] == before[p] for p in PDUS if before[p] != gone[1].name)


def test_a_new_collector_rebalances_everything() -> None:
    # A name the others do not know changes the ranking itself: shares even again.
    known = _collectors(5)
    newcomer = Member("collector-new.example.org")
    after = assign(PDUS, [*known, newcomer], known)
    assert set(Counter(after.values()).values()) <= {166, 167}


def test_a_pdu_added_moves_few_others() -> None:
    for k in (3, 7, 10):
        known = _collectors(k)
        before = assign(PDUS, known, known)
        after = assign([*PDUS, "rack-e000"], known, known)
        moved = [p for p in PDUS if after[p] != before[p]]
        assert len(moved) <= 10, (k, moved)  # 1 % (measured: 0 to 6 over the name sets)


def test_one_collector_polls_everything() -> None:
    assert share(PDUS, [Member("solo")], "solo") == set(PDUS)
    assert share(PDUS, [Member("solo")], "somebody-else") == set()
    # ...and still does when others it knew are gone.
    assert share(PDUS, [Member("solo")], "solo", _collectors(3)) == set(PDUS)


def test_every_pdu_has_exactly_one_collector() -> None:
    known = _collectors(7)
    live = known[2:]
    polled = Counter(p for m in live for p in share(PDUS, live, m.name, known))
    assert set(polled) == set(PDUS)
    assert set(polled.values()) == {1}


def test_pinned_pdus_go_to_their_collector_only() -> None:
    pinned = {"rack-a000", "rack-b001"}
    members = [*_collectors(3), Member("isolated", frozenset(pinned))]
    result = assign(PDUS, members, members)
    assert {p for p, owner in result.items() if owner == "isolated"} == pinned
    rest = Counter(owner for p, owner in result.items() if p not in pinned)
    assert set(rest) == {m.name for m in _collectors(3)}
    assert set(rest.values()) <= {332, 333}


def test_a_pdu_pinned_twice_is_shared_by_its_collectors() -> None:
    pinned = frozenset(f"rack-c{n:03d}" for n in range(40))
    members = [Member("room-1", pinned), Member("room-2", pinned), *_collectors(2)]
    owners = Counter(owner for p, owner in assign(PDUS, members).items() if p in pinned)
    assert set(owners) == {"room-1", "room-2"}
    # One of them leaves: the other polls them all, and no other PDU moves.
    before = assign(PDUS, members, members)
    after = assign(PDUS, members[1:], members)
    assert {p for p in PDUS if after[p] != before[p]} == {
        p for p in pinned if before[p] == "room-1"
    }
    assert {after[p] for p in pinned} == {"room-2"}


def test_pins_of_departed_collectors_free_their_pdus_and_nothing_else() -> None:
    isolated = Member("isolated", frozenset({"rack-a000", "rack-b001"}))
    known = [*_collectors(2), isolated]
    before = assign(PDUS, known, known)
    after = assign(PDUS, _collectors(2), known)  # the pinning collector is gone
    assert {p for p in PDUS if after[p] != before[p]} == {"rack-a000", "rack-b001"}
    assert after["rack-a000"] in {m.name for m in _collectors(2)}
    assert assign(PDUS, _collectors(2))["rack-a000"] is not None  # and once forgotten


def test_without_unpinned_collectors_other_pdus_have_none() -> None:
    result = assign(["p1", "p2"], [Member("only-p1", frozenset({"p1"}))], _collectors(2))
    assert result == {"p1": "only-p1", "p2": None}
    assert shares(result) == {"only-p1": ["p1"], None: ["p2"]}


def test_weights_are_the_same_in_every_process_and_version() -> None:
    # blake2b of the names, not Python's per-process salted hash(): collectors on different
    # hosts (and versions) must compute the same assignment.
    assert weight("collector-0", "rack-a000") == WEIGHT
    assert weight("a", "b") != weight("b", "a")
