"""``[collector] name`` and ``only``: validated against pdus.toml, errors naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from powermond.errors import ConfigError
from powermond.inventory.load import load_all

PDUS = '[pdu.rack-a1]\nhost = "192.0.2.10"\nprofile = "apc-rpdu2"\ncommunity = "x"\n'


def _config(tmp_path: Path, collector: str) -> Path:
    (tmp_path / "powermon.toml").write_text(f"[collector]\n{collector}\n")
    (tmp_path / "pdus.toml").write_text(PDUS)
    (tmp_path / "machines.toml").write_text("")
    return tmp_path


def test_name_and_pinned_pdus(tmp_path: Path) -> None:
    settings, _ = load_all(_config(tmp_path, 'name = "room-b"\nonly = ["rack-a1"]'))
    assert settings.collector.name == "room-b"
    assert settings.collector.only == ("rack-a1",)


def test_defaults_host_name_and_no_pins(tmp_path: Path) -> None:
    settings, _ = load_all(_config(tmp_path, ""))
    assert settings.collector.name is None  # the host name, taken when the daemon starts
    assert settings.collector.only == ()


def test_a_pinned_pdu_must_be_in_pdus_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_all(_config(tmp_path, 'only = ["rack-a1", "rack-zz"]'))
    assert caught.value.problems == [
        f"{tmp_path / 'powermon.toml'}: [collector] only: PDU 'rack-zz' is not in pdus.toml"
    ]


@pytest.mark.parametrize("value", ['""', '" padded "', "42", '["a"]'])
def test_a_bad_name_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_all(_config(tmp_path, f"name = {value}"))
    assert any("collector.name" in p or "[collector] name" in p for p in caught.value.problems), (
        caught.value.problems
    )
