"""``./dev``, the README's entry point: its usage text, and a line for every setup step."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEV = REPO / "dev"


def _dev(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DEV), *argv], capture_output=True, text=True, timeout=120,
                          check=False, cwd=REPO)  # fmt: skip


def test_usage_is_the_header_comment_only() -> None:
    done = _dev("help")
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines[0].startswith("PowerMon's developer entry point")
    assert [line.split()[:2] for line in lines[1:]] == [
        ["./dev", "demo"], ["./dev", "test"], ["./dev", "setup"],
    ]  # fmt: skip
    assert "set -" not in done.stderr
    assert "#" not in done.stderr


def test_setup_says_what_each_step_does() -> None:
    stamp = REPO / ".venv" / ".installed"
    if not stamp.is_file() or stamp.stat().st_mtime < (REPO / "pyproject.toml").stat().st_mtime:
        pytest.skip("the venv is not up to date: ./dev setup would install (run it first)")
    done = _dev("setup")
    assert done.returncode == 0, done.stderr
    steps = [line for line in done.stderr.splitlines() if line.startswith("dev: ")]
    assert [s.split(":")[1].strip() for s in steps] == ["apt", "venv"], done.stderr
    assert steps[-1] == "dev: venv: .venv is up to date with pyproject.toml"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert ci[-1] == "./dev test"
    assert "./dev test" in (REPO / "README.md").read_text()
