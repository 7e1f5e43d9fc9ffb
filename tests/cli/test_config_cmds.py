"""``powermon config check`` / ``config apply`` as an operator runs them, on each database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from powermond.cli import main

PDUS = """
[pdu.rack-a1]
host = "192.0.2.10"
profile = "apc-rpdu2"
community = "s3cret-community"

[pdu.rack-b1]
host = "192.0.2.11"
profile = "eaton-epdu"
"""

MACHINES = """
[machine."wn001"]
outlets = ["rack-a1:3", "rack-b1:3"]

[machine."wn002"]
outlets = ["rack-a1:4"]
"""


@pytest.fixture
def config_dir(tmp_path: Path, db_url: str) -> Path:
    directory = tmp_path / "etc"
    directory.mkdir()
    (directory / "powermon.toml").write_text(f'[database]\nurl = "{db_url}"\n')
    (directory / "pdus.toml").write_text(PDUS)
    (directory / "machines.toml").write_text(MACHINES)
    return directory


def run(capsys: pytest.CaptureFixture[str], config_dir: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["--config-dir", str(config_dir), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def stored(capsys: pytest.CaptureFixture[str], config_dir: Path) -> tuple[object, object]:
    code_p, pdus, _ = run(capsys, config_dir, "pdus", "--format", "json")
    code_m, machines, _ = run(capsys, config_dir, "machines", "--format", "json")
    assert (code_p, code_m) == (0, 0)
    return json.loads(pdus), json.loads(machines)


def test_check_apply_twice_then_a_broken_file_writes_nothing(
    capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    assert run(capsys, config_dir, "db", "upgrade")[0] == 0
    code, out, _ = run(capsys, config_dir, "config", "check")
    assert code == 0
    assert "OK: 2 PDUs, 2 machines, 3 outlets" in out

    code, out, _ = run(capsys, config_dir, "config", "apply")
    assert code == 0
    lines = out.splitlines()
    assert "PDU added: rack-a1" in lines
    assert "PDU added: rack-b1" in lines
    assert "machine added: wn001" in lines
    assert "machine added: wn002" in lines
    assert "s3cret" not in out

    code, out, _ = run(capsys, config_dir, "config", "apply")
    assert (code, out.strip()) == (0, "nothing changed")
    before = stored(capsys, config_dir)

    # A valid machine change next to an outlet claimed twice: nothing of it is applied.
    (config_dir / "machines.toml").write_text(
        MACHINES + '\n[machine."wn003"]\noutlets = ["rack-a1:4"]\n'
    )
    code, out, err = run(capsys, config_dir, "config", "apply")
    assert code == 78
    assert out == ""
    assert (
        f'{config_dir / "machines.toml"}: [machine."wn003"] outlets: rack-a1:4 is already '
        "used by machine 'wn002'"
    ) in err
    assert run(capsys, config_dir, "config", "check")[0] == 78
    assert stored(capsys, config_dir) == before


def test_removed_machine_is_retired_and_restored(
    capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    assert run(capsys, config_dir, "db", "upgrade")[0] == 0
    assert run(capsys, config_dir, "config", "apply")[0] == 0
    (config_dir / "machines.toml").write_text('[machine."wn001"]\noutlets = ["rack-a1:3"]\n')
    code, out, _ = run(capsys, config_dir, "config", "apply")
    assert code == 0
    assert "machine retired: wn002" in out
    _, machines = stored(capsys, config_dir)
    by_name = {m["name"]: m for m in machines}  # type: ignore[attr-defined]
    assert set(by_name) == {"wn001", "wn002"}
    assert by_name["wn002"]["status"].startswith("retired")
    (config_dir / "machines.toml").write_text(MACHINES)
    code, out, _ = run(capsys, config_dir, "config", "apply")
    assert "machine restored: wn002" in out
