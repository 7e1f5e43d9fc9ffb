"""Machines mapped to PDU:inlet, and the rule that an inlet and its outlets are not both mapped."""

from __future__ import annotations

from pathlib import Path

import pytest

from powermond.cli import main
from powermond.errors import ConfigError
from powermond.inventory.load import load_inventory
from powermond.inventory.model import OutletRef

pytestmark = pytest.mark.timeout(30)

PDUS = """
[pdu.rack-a1]
host = "192.0.2.10"
profile = "apc-rpdu2"
[pdu.tower]
host = "192.0.2.11"
profile = "sentry4"
[pdu.chain]
host = "192.0.2.12"
profile = "eaton-epdu"
"""


def _dir(tmp_path: Path, machines: str) -> Path:
    (tmp_path / "pdus.toml").write_text(PDUS)
    (tmp_path / "machines.toml").write_text(machines)
    return tmp_path


def _problems(tmp_path: Path, machines: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_inventory(_dir(tmp_path, machines))
    return info.value.problems


def test_a_machine_maps_to_an_inlet_in_any_spelling(tmp_path: Path) -> None:
    machines = """
[machine."big"]
outlets = ["rack-a1:INLET.1"]
[machine."rack-b"]
outlets = ["chain:inlet.2.1", "tower:inlet.2"]
"""
    inventory = load_inventory(_dir(tmp_path, machines))
    assert inventory.machines["big"].outlets == (OutletRef(pdu="rack-a1", label="inlet"),)
    assert [str(r) for r in inventory.machines["rack-b"].outlets] == [
        "chain:inlet.2.1",
        "tower:inlet.2",
    ]
    assert inventory.outlet_map()[("rack-a1", "inlet")] == "big"


def test_inlet_and_an_outlet_of_the_same_unit_are_refused(tmp_path: Path) -> None:
    machines = """
[machine."big"]
outlets = ["rack-a1:inlet"]
[machine."wn001"]
outlets = ["rack-a1:3", "rack-a1:2.4"]
"""
    (problem,) = _problems(tmp_path, machines)
    assert problem.startswith(f'{tmp_path / "machines.toml"}: [machine."big"] outlets: ')
    assert 'rack-a1:3 of machine "wn001"' in problem
    assert "2.4" not in problem  # unit 2 has its own inlet
    assert "count twice" in problem


def test_one_machine_mapping_both_is_refused_too(tmp_path: Path) -> None:
    machines = '[machine."wn001"]\noutlets = ["chain:inlet.2.1", "chain:2.7"]\n'
    (problem,) = _problems(tmp_path, machines)
    assert "chain:inlet.2.1 meters outlets also mapped (chain:2.7 of machine" in problem


def test_servertech_cords_feed_only_their_own_outlets(tmp_path: Path) -> None:
    machines = """
[machine."cord-b"]
outlets = ["tower:inlet.2"]
[machine."wn001"]
outlets = ["tower:AA1", "tower:BB2"]
"""
    assert load_inventory(_dir(tmp_path, machines)).machines["cord-b"]
    clash = '[machine."wn002"]\noutlets = ["tower:AB3"]\n'
    (problem,) = _problems(tmp_path, machines + clash)
    assert "tower:AB3" in problem


def test_config_check_exits_78_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    machines = (
        '[machine."a"]\noutlets = ["rack-a1:inlet"]\n[machine."b"]\noutlets = ["rack-a1:1"]\n'
    )
    config = _dir(tmp_path, machines)
    assert main(["--config-dir", str(config), "config", "check"]) == 78
    err = capsys.readouterr().err
    assert f'{config / "machines.toml"}: [machine."a"] outlets: rack-a1:inlet' in err
