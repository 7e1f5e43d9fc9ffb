"""The assignment's balance and churn, over collector name sets (figures for docs/scaling.md).

    .venv/bin/python bench/bench_assign.py [--pdus N] [--random-sets S] [--seed X]

Prints, for 2-10 collectors: the spread of shares when all are live; the worst share after
one departure, as a fraction off ``N / (k - 1)``, with the bounded second choice and, for
comparison, with plain rendezvous order after the primary; and how many other PDUs change
collector when one PDU is added to ``pdus.toml``. Name sets: the four of
``tests/collect/test_assign.py`` and S random ones.
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from collections.abc import Callable

from powermond.collect import assign as assignment
from powermond.collect.assign import Member, assign

GREEK = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]
NAME_SETS: dict[str, Callable[[int], str]] = {
    "fqdn": lambda i: f"collector-{i}.example.org",
    "short": lambda i: f"c{i + 1}",
    "hosts": lambda i: f"pm{i:02d}.dc{i % 3}.site",
    "greek": lambda i: GREEK[i],
}
Assign = Callable[[list[str], list[Member], list[Member]], dict[str, str | None]]


def plain_fallback(
    pdus: list[str], live: list[Member], known: list[Member]
) -> dict[str, str | None]:
    """Primary as ``assign`` has it, then plain rendezvous order (no bounded second choice)."""
    names = sorted(m.name for m in known)
    primary = assignment._bounded(sorted(pdus), names)
    up = sorted(m.name for m in live)
    return {p: primary[p] if primary[p] in up else assignment._ranked(p, up)[0] for p in pdus}


def worst_after_departure(pdus: list[str], names: list[str], how: Assign) -> float:
    known = [Member(n) for n in names]
    fair = len(pdus) / (len(names) - 1)
    worst = 0.0
    for gone in known:
        loads = Counter(how(pdus, [m for m in known if m != gone], known).values())
        worst = max(worst, *(abs(v - fair) / fair for v in loads.values()))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pdus", type=int, default=1000)
    parser.add_argument("--random-sets", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    pdus = [f"rack-{r}{n:03d}" for r in "abcd" for n in range(args.pdus // 4)]
    rng = random.Random(args.seed)
    sets = [[f(i) for i in range(k)] for f in NAME_SETS.values() for k in range(2, 11)]
    sets += [
        [f"host-{rng.randrange(10**9)}" for _ in range(rng.randint(3, 10))]
        for _ in range(args.random_sets)
    ]
    spread, moved = 0, []
    worst = {"bounded second": (0.0, 0), "plain rendezvous": (0.0, 0)}
    over = Counter[str]()
    for names in sets:
        known = [Member(n) for n in names]
        before = assign(pdus, known, known)
        loads = Counter(before.values()).values()
        spread = max(spread, max(loads) - min(loads))
        after = assign([*pdus, "rack-z999"], known, known)
        moved.append(sum(after[p] != before[p] for p in pdus))
        if len(names) < 3:
            continue
        for label, how in (("bounded second", assign), ("plain rendezvous", plain_fallback)):
            w = worst_after_departure(pdus, names, how)
            worst[label] = max(worst[label], (w, len(names)))
            over[label] += w > 0.10
    print(f"{len(pdus)} PDUs, {len(sets)} name sets of 2-10 collectors")
    print(f"all live: shares differ by at most {spread} PDU(s)")
    for label, (w, k) in worst.items():
        print(
            f"after one departure, {label}: worst share {w:.1%} off n/(k-1) (k={k}); "
            f"sets beyond 10 %: {over[label]}"
        )
    print(f"one PDU added: other PDUs moved, mean {sum(moved) / len(moved):.1f}, max {max(moved)}")


if __name__ == "__main__":
    main()
