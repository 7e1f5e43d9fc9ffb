"""``etc/powermon/alerts.yml`` against Debian's promtool: valid rules, and alerts that fire
when (and only when) they should (``tests/prometheus/alerts_test.yml``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "etc" / "powermon" / "alerts.yml"
UNIT_TESTS = Path(__file__).with_name("alerts_test.yml")


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        message = "promtool (Debian package prometheus) is not installed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (CI=true: it must run)")
        pytest.skip(message)
    return found


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_promtool_checks_the_rules() -> None:
    done = run("check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 6 rules found" in done.stdout


def test_the_alerts_fire_as_documented(tmp_path: Path) -> None:
    tests = tmp_path / "alerts_test.yml"
    tests.write_text(UNIT_TESTS.read_text().replace("  - RULES", f"  - {RULES}"))
    done = run("test", "rules", str(tests))
    assert done.returncode == 0, done.stdout + done.stderr
