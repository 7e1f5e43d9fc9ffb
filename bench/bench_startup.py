"""Start-up benchmark: CPU seconds of whole ``powermon`` processes (user + system).

    .venv/bin/python bench/bench_startup.py [--runs 7] [--config-dir DIR] [--base SRC]
        [COMMAND ...]    (default commands: --version, --help, pdus, power M, config check)

Each command runs ``--runs`` times as a child process (``python -m`` of the installed
entry point, bytecode cached as an installed package has it); the runs of all commands are
interleaved so that the load of a shared machine spreads evenly, and the minimum and median
CPU per command are printed with the load average. CPU, not wall: on a loaded machine a
process waits for a core, which its CPU time does not count. With ``--base SRC`` (another
checkout's ``src``, e.g. ``git archive main src``) every command also runs against that
code, side by side. ``power``/``pdus`` need a configured, migrated database (``--config-dir``);
without one they fail early and measure only their start.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

DEFAULT_COMMANDS = ["--version", "--help", "pdus", "power wn003", "config check"]


def cpu_of(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """CPU seconds of one child process and its exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, env=env, capture_output=True, check=False, timeout=120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return used, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("commands", nargs="*", default=DEFAULT_COMMANDS)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--config-dir", default=None)
    parser.add_argument("--base", default=None, help="another src/ to compare with")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    trees = {"this": env}
    if args.base:
        trees["base"] = env | {"PYTHONPATH": str(Path(args.base).resolve())}
    prefix = [sys.executable, "-c", "import sys; from powermond.cli import main; sys.exit(main())"]
    if args.config_dir:
        prefix += ["--config-dir", args.config_dir]
    for tree_env in trees.values():  # compile and cache bytecode once, outside the timing
        for command in args.commands:
            cpu_of([*prefix, *shlex.split(command)], tree_env)
    samples: dict[tuple[str, str], list[float]] = {}
    codes: dict[tuple[str, str], int] = {}
    for _ in range(args.runs):
        for command in args.commands:
            for tree, tree_env in trees.items():
                used, code = cpu_of([*prefix, *shlex.split(command)], tree_env)
                samples.setdefault((tree, command), []).append(used)
                codes[(tree, command)] = code
    load = os.getloadavg()
    print(f"{args.runs} runs each, interleaved; load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'command':<24} {'tree':<5} {'min CPU s':>9} {'median':>7}  exit")
    for (tree, command), values in samples.items():
        print(f"{command:<24} {tree:<5} {min(values):9.3f} {statistics.median(values):7.3f}  "
              f"{codes[(tree, command)]}")  # fmt: skip


if __name__ == "__main__":
    main()
