"""Configuration loading: every problem named by file and [table] key (or file:line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from powermond.errors import ConfigError
from powermond.inventory.load import load_all, load_inventory, load_settings
from powermond.inventory.model import OutletRef

EXAMPLE = Path(__file__).resolve().parents[2] / "etc" / "powermon"

GOOD_PDUS = """
[pdu.rack-a1]
host = "192.0.2.10"
profile = "apc-rpdu2"
community = "s3cret-community"

[pdu.rack-b1]
host = "192.0.2.11"
profile = "raritan-pdu2"
version = "3"
user = "powermon"
auth_protocol = "SHA256"
auth_key = "auth-s3cret"
priv_protocol = "AES128"
priv_key = "priv-s3cret"
"""

GOOD_MACHINES = """
[machine."wn001"]
outlets = ["rack-a1:3", "rack-b1:1.3"]
rrd = "Workers/wn001"

[machine."wn002"]
outlets = ["rack-a1:2.4"]
"""


def write(directory: Path, **files: str) -> Path:
    for name, text in files.items():
        (directory / f"{name}.toml").write_text(text)
    return directory


def problems(directory: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_all(directory)
    return info.value.problems


def test_example_config_is_valid() -> None:
    settings, inventory = load_all(EXAMPLE)
    assert settings.collector.interval == 300
    assert set(inventory.pdus) == {"rack-a1", "rack-b1", "rack-c1", "legacy"}
    assert inventory.pdus["legacy"].profile_name == "oid"
    assert inventory.pdus["legacy"].voltage == 230


def test_good_config_builds_the_inventory(tmp_path: Path) -> None:
    inventory = load_inventory(write(tmp_path, pdus=GOOD_PDUS, machines=GOOD_MACHINES))
    wn001 = inventory.machines["wn001"]
    # "1.3" is unit 1, outlet 3: the same outlet as "3".
    assert wn001.outlets == (
        OutletRef(pdu="rack-a1", label="3"),
        OutletRef(pdu="rack-b1", label="3"),
    )
    assert inventory.machines["wn002"].outlets == (OutletRef(pdu="rack-a1", label="2.4"),)
    assert inventory.outlet_map()[("rack-b1", "3")] == "wn001"
    assert inventory.pdus["rack-b1"].auth_protocol == "SHA256"


def test_secrets_never_print(tmp_path: Path) -> None:
    inventory = load_inventory(write(tmp_path, pdus=GOOD_PDUS, machines=GOOD_MACHINES))
    text = repr(inventory) + str(inventory)
    for secret in ("s3cret-community", "auth-s3cret", "priv-s3cret"):
        assert secret not in text
    assert inventory.pdus["rack-a1"].community.get_secret_value() == "s3cret-community"


def test_database_url_secret_and_env_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, powermon='[database]\nurl = "mysql+asyncmy://pm:hunter2@db/pm"\n')
    monkeypatch.delenv("POWERMON_DATABASE_URL", raising=False)
    settings = load_settings(tmp_path)
    assert "hunter2" not in repr(settings)
    assert settings.database.url.get_secret_value() == "mysql+asyncmy://pm:hunter2@db/pm"
    monkeypatch.setenv("POWERMON_DATABASE_URL", "sqlite+aiosqlite:///x.db")
    assert load_settings(tmp_path).database.url.get_secret_value() == "sqlite+aiosqlite:///x.db"


def test_missing_files_mean_defaults_and_empty_inventory(tmp_path: Path) -> None:
    settings, inventory = load_all(tmp_path)
    assert settings.collector.timeout == 2.0
    assert inventory.pdus == {}
    assert inventory.machines == {}


def test_missing_directory(tmp_path: Path) -> None:
    assert problems(tmp_path / "nope") == [
        f"{tmp_path / 'nope'}: configuration directory does not exist"
    ]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"pdus": '[pdu.a]\nhost = "h"\nprofile = "apc-rpdu2"\n\n[pdu.b\nhost = "x"\n'},
            "pdus.toml:5:7: TOML syntax error",
            id="toml-syntax-line",
        ),
        pytest.param(
            {"pdus": '[pdu.a]\nhost = "h"\nprofile = "apc-rpdu2"\ncolour = "red"\n'},
            "pdus.toml: [pdu.a] colour: unknown key",
            id="unknown-key",
        ),
        pytest.param(
            {"pdus": '[pdu.a]\nprofile = "apc-rpdu2"\n'},
            "pdus.toml: [pdu.a] host: required key is missing",
            id="missing-key",
        ),
        pytest.param(
            {"pdus": '[pdu.a]\nhost = "h"\nprofile = "apc-rpdu2"\nport = "161"\n'},
            "pdus.toml: [pdu.a] port: Input should be a valid integer (got '161')",
            id="bad-type",
        ),
        pytest.param(
            {"pdus": '[pdu.a]\nhost = "h"\nprofile = "apc-rpdu2"\nversion = "4"\n'},
            "pdus.toml: [pdu.a] version: Input should be '1', '2c' or '3'",
            id="bad-snmp-version",
        ),
        pytest.param(
            {
                "pdus": '[pdu.a]\nhost = "h"\nprofile = "apc-rpdu2"\nversion = "3"\n'
                'user = "u"\nauth_protocol = "SHA999"\nauth_key = "k"\n'
            },
            "pdus.toml: [pdu.a] auth_protocol: Input should be 'MD5', 'SHA', 'SHA224'",
            id="bad-auth-protocol",
        ),
        pytest.param(
            {
                "pdus": '[pdu.a]\nhost = "h"\nprofile = "apc-rpdu2"\nversion = "3"\n'
                'user = "u"\nauth_protocol = "SHA"\nauth_key = "k"\n'
                'priv_protocol = "AES512"\npriv_key = "p"\n'
            },
            "pdus.toml: [pdu.a] priv_protocol: Input should be 'DES', 'AES128', 'AES192' or "
            "'AES256'",
            id="bad-priv-protocol",
        ),
        pytest.param(
            {"pdus": '[pdu.a]\nhost = "h"\nprofile = "apc-rpdu2"\nversion = "3"\n'},
            "pdus.toml: [pdu.a]: SNMPv3 needs `user`",
            id="v3-without-user",
        ),
        pytest.param(
            {"pdus": '[pdu.a]\nhost = "h"\nprofile = "apc-rpdu2"\nauth_key = "k"\n'},
            'pdus.toml: [pdu.a]: `user`/`auth_*`/`priv_*` need version = "3"',
            id="v3-keys-on-v2c",
        ),
        pytest.param(
            {"pdus": '[pdu.a]\nhost = "h"\n'},
            "pdus.toml: [pdu.a]: needs `profile` (a vendor profile) or `oid`",
            id="no-profile",
        ),
        pytest.param(
            {"pdus": '[pdu.a]\nhost = "h"\noid = "1.3.x"\n'},
            "pdus.toml: [pdu.a]: `oid` '1.3.x' is not a dotted numeric OID",
            id="bad-oid",
        ),
        pytest.param(
            {"powermon": '[collector]\ninterval = "often"\n'},
            "powermon.toml: collector.interval: Input should be a valid number",
            id="settings-bad-type",
        ),
        pytest.param(
            {"powermon": "[collector]\nintervall = 60\n"},
            "powermon.toml: collector.intervall: unknown key",
            id="settings-unknown-key",
        ),
        pytest.param(
            {"pdus": GOOD_PDUS, "machines": '[machine.m]\noutlets = ["nowhere:1"]\n'},
            "machines.toml: [machine.\"m\"] outlets: 'nowhere:1' names no PDU in pdus.toml",
            id="unknown-pdu",
        ),
        pytest.param(
            {
                "pdus": GOOD_PDUS,
                "machines": '[machine.m]\noutlets = ["rack-a1:1"]\n'
                '[machine.n]\noutlets = ["rack-a1:1.1"]\n',
            },
            "machines.toml: [machine.\"n\"] outlets: rack-a1:1 is already used by machine 'm'",
            id="outlet-of-two-machines",
        ),
        pytest.param(
            {"pdus": GOOD_PDUS, "machines": '[machine.m]\noutlets = ["rack-a1:1", "rack-a1:1"]\n'},
            "machines.toml: [machine.\"m\"] outlets: 'rack-a1:1' is listed twice",
            id="duplicate-outlet",
        ),
        pytest.param(
            {"pdus": GOOD_PDUS, "machines": '[machine.m]\noutlets = ["rack-a1:one"]\n'},
            "machines.toml: [machine.\"m\"] outlets: 'rack-a1:one': outlet 'ONE' is not N, U.N",
            id="bad-outlet",
        ),
        pytest.param(
            {"pdus": GOOD_PDUS, "machines": '[machine.m]\nrrd = "c/h"\n'},
            'machines.toml: [machine."m"] outlets: required key is missing',
            id="machine-without-outlets",
        ),
        pytest.param(
            {"pdus": GOOD_PDUS, "machines": '[machine.m]\noutlets = ["rack-a1:1"]\nrack = 3\n'},
            'machines.toml: [machine."m"] rack: unknown key',
            id="machine-unknown-key",
        ),
        pytest.param(
            {"pdus": GOOD_PDUS, "machines": '[machine.m]\noutlets = ["rack-a1:1"]\nrrd = "/x"\n'},
            'machines.toml: [machine."m"] rrd: must be <cluster>/<host> under [rrd].root',
            id="absolute-rrd",
        ),
        pytest.param(
            {"machines": '[host.m]\noutlets = ["a:1"]\n'},
            "machines.toml: host: unknown key (expected machine)",
            id="unknown-top-level",
        ),
    ],
)
def test_each_problem_names_file_and_key(
    tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    found = problems(write(tmp_path, **files))
    assert any(expected in p for p in found), found
    assert all(str(tmp_path) in p for p in found)


def test_all_problems_of_all_files_at_once(tmp_path: Path) -> None:
    write(
        tmp_path,
        powermon="[collector]\ntimeout = -1\n",
        pdus='[pdu.a]\nhost = "h"\nprofile = "apc-rpdu2"\nport = 0\n',
        machines='[machine.m]\noutlets = ["zz:1"]\n',
    )
    found = problems(tmp_path)
    assert len(found) == 3, found
    assert "powermon.toml: collector.timeout" in found[0]
    assert "pdus.toml: [pdu.a] port" in found[1]
    assert "'zz:1' names no PDU" in found[2]


def test_secret_values_are_not_echoed_in_errors(tmp_path: Path) -> None:
    write(tmp_path, pdus='[pdu.a]\nhost = "h"\nprofile = "apc-rpdu2"\ncommunity = ["s3cret"]\n')
    found = problems(tmp_path)
    assert "community" in found[0]
    assert "s3cret" not in "".join(found)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("nonsense", "not a database URL"),
        ("mysql://pm:hunter2@db/pm", "use the mysql+asyncmy:// driver, not 'mysqldb'"),
        ("oracle+oracledb://pm:hunter2@db/pm", "unsupported database 'oracle'"),
    ],
)
def test_bad_database_url(tmp_path: Path, url: str, expected: str) -> None:
    write(tmp_path, powermon=f'[database]\nurl = "{url}"\n')
    found = problems(tmp_path)
    assert f"powermon.toml: database.url: {expected}" in found[0]
    assert "hunter2" not in found[0]
