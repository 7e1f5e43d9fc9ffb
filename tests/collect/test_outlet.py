"""``poll --pdu P --outlet N``: one outlet by one SNMP GET, against snmpsim.

Two agents: the demo's generated PDUs (recordings the project owns, always there), and the
real device recordings of ``../shared/snmprec`` (skipped when absent, failing under CI=true),
where every outlet read by GET must equal the same outlet of a whole-table walk.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from powermond.cli import main
from powermond.collect.outlet import read_outlet, rows_for
from powermond.demo.snmprec import write_snmprec
from powermond.demo.world import DEFAULT_WORLD
from powermond.inventory.model import PduConfig
from powermond.snmp import profiles
from powermond.snmp.client import ClientDefaults, SnmpClient, Value
from powermond.snmp.profiles.base import Table
from simulator import HOST, Snmpsim

REPO = Path(__file__).resolve().parents[2]
SNMPREC_DIR = Path(os.environ.get("POWERMON_SNMPREC_DIR", REPO.parent / "shared" / "snmprec"))
IN_CI = os.environ.get("CI", "").lower() == "true"
pytestmark = pytest.mark.timeout(90)


class Counting:
    """A :class:`PduTransport` that counts the requests it passes to the real client."""

    def __init__(self, client: SnmpClient) -> None:
        self.client = client
        self.gets: list[int] = []  # varbinds per GET
        self.walks = 0

    def request_budget(self, pdu: PduConfig) -> float:
        return self.client.request_budget(pdu)

    async def get(self, pdu: PduConfig, oids: Sequence[str]) -> dict[str, Value]:
        self.gets.append(len(oids))
        return await self.client.get(pdu, oids)

    async def walk_columns(
        self, pdu: PduConfig, columns: Sequence[str], *, max_repetitions: int | None = None
    ) -> Table:
        self.walks += 1
        return await self.client.walk_columns(pdu, columns, max_repetitions=max_repetitions)


def test_rows_a_label_may_be() -> None:
    assert rows_for("8") == [(8,), (1, 8), (0, 8)]
    assert rows_for("2.8") == [(2, 8), (1, 8)]
    assert rows_for("AB3") == [(1, 2, 3)]
    assert rows_for("inlet") == []


@pytest.fixture(scope="module")
def demo_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpsim]:
    root = tmp_path_factory.mktemp("demo-agent")
    write_snmprec(DEFAULT_WORLD, root / "data")
    with Snmpsim.start([root / "data"], root / "cache", root / "snmpsim.log") as sim:
        yield sim


def _pdu(sim: Snmpsim, community: str, profile: str) -> PduConfig:
    return sim.pdu(community, profile=profile, timeout=1.0, retries=1)


@pytest.mark.parametrize("model", DEFAULT_WORLD.pdus, ids=lambda p: p.profile)
async def test_one_get_reads_the_outlet_a_walk_reads(demo_agent: Snmpsim, model: Any) -> None:
    pdu = _pdu(demo_agent, model.community, model.profile)
    profile = profiles.get(model.profile)
    async with SnmpClient(ClientDefaults()) as client:
        counting = Counting(client)
        result = await read_outlet(counting, pdu, profile, "8")
        walked = {
            r.outlet: r
            for r in profile.decode(await client.walk_columns(pdu, profile.columns)).readings
        }
    assert result.error is None, result.error
    assert (len(counting.gets), counting.walks) == (1, 0)
    assert result.warnings == ()
    (reading,) = result.readings
    assert reading.outlet == "8"
    expected = walked["8"]  # read a moment later: the simulated watts move slowly
    assert reading.watts == pytest.approx(expected.watts, abs=2)
    assert reading.energy_kwh == pytest.approx(expected.energy_kwh, abs=0.2)
    assert reading.amps is not None


async def test_an_outlet_the_pdu_lacks_is_an_error(demo_agent: Snmpsim) -> None:
    pdu = _pdu(demo_agent, "rack-a1", "apc-rpdu2")
    async with SnmpClient(ClientDefaults()) as client:
        counting = Counting(client)
        result = await read_outlet(counting, pdu, profiles.get("apc-rpdu2"), "2.3")
    assert result.error == "no outlet 2.3 on this PDU (profile apc-rpdu2)"
    assert result.readings == ()
    assert len(counting.gets) == 1
    assert counting.walks == 1  # flat rows: the label columns were searched for unit 2


def _config(tmp_path: Path, sim: Snmpsim) -> Path:
    config = tmp_path / "etc"
    config.mkdir()
    (config / "powermon.toml").write_text(
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "pm.db"}"\n'
        "[collector]\ninterval = 300\ntimeout = 1.0\nretries = 1\n"
    )
    (config / "pdus.toml").write_text(
        "".join(
            f'[pdu.{p.name}]\nhost = "{HOST}"\nport = {sim.port}\nprofile = "{p.profile}"\n'
            f'community = "{p.community}"\n'
            for p in DEFAULT_WORLD.pdus
        )
    )
    (config / "machines.toml").write_text(
        '[machine."db01"]\noutlets = ["rack-a1:8", "rack-a2:8"]\n'
    )
    return config


def test_poll_outlet_json_is_polls_shape(
    demo_agent: Snmpsim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, demo_agent)
    argv = ["--config-dir", str(config), "poll", "--pdu", "rack-a2", "--outlet", "8",
            "--no-store", "--format", "json"]  # fmt: skip
    assert main(argv) == 0
    document = json.loads(capsys.readouterr().out)
    assert {"cycle", "readings", "errors"} <= set(document)
    (row,) = document["readings"]
    assert set(row) == {"pdu", "outlet", "machine", "watts", "amps", "energy_kwh"}
    assert (row["pdu"], row["outlet"], row["machine"]) == ("rack-a2", "8", "db01")
    assert row["watts"] > 0
    assert document["errors"] == []
    assert not (tmp_path / "pm.db").exists()


def test_poll_outlet_stores_the_reading(
    demo_agent: Snmpsim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, demo_agent)
    assert main(["--config-dir", str(config), "db", "upgrade"]) == 0
    assert main(["--config-dir", str(config), "config", "apply"]) == 0
    assert main(["--config-dir", str(config), "poll", "--pdu", "rack-a1", "--outlet", "8"]) == 0
    capsys.readouterr()
    assert main(["--config-dir", str(config), "power", "db01", "--format", "json"]) == 0
    (point,) = json.loads(capsys.readouterr().out)["points"]
    assert point["feeds"] == 1  # only the A feed was read: a partial cycle
    assert point["partial"] is True


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--outlet", "8"], "--outlet needs exactly one --pdu"),
        (["--pdu", "rack-a1", "--pdu", "rack-a2", "--outlet", "8"], "exactly one --pdu"),
        (["--pdu", "rack-a1", "--outlet", "rack-a1:8"], "an outlet is N, U.N, AB3, inlet"),
    ],
)
def test_poll_outlet_usage(
    demo_agent: Snmpsim,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    config = _config(tmp_path, demo_agent)
    assert main(["--config-dir", str(config), "poll", "--no-store", *argv]) == 2
    assert message in capsys.readouterr().err


# --- the real device recordings ---------------------------------------------------------------

RECORDINGS = {
    "apc_ap8641-rpdu2-metered-by-outlet": "apc-rpdu2",
    "apc_cpdu-netshelter-advanced": "apc-cpdu",
    "raritan_px2": "raritan-pdu2",
    "raritan_px3-5493u-k2": "raritan-pdu2",
    "raritan_dominion-px1": "raritan-px1",
    "eaton_epdu-ma-24outlet": "eaton-epdu",
    "servertech_sentry3-switched-cdu": "sentry3",
    "cyberpower_pdu81005": "cyberpower",
    "hpe_mapdu-pdu3-p9s18a": "hpe-pdu",
}


@pytest.fixture(scope="module")
def shared_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpsim]:
    if not SNMPREC_DIR.is_dir():
        message = f"recordings folder {SNMPREC_DIR} is absent"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: the comparisons with real devices must run)")
        pytest.skip(message)
    root = tmp_path_factory.mktemp("shared-agent")
    with Snmpsim.start([SNMPREC_DIR], root / "cache", root / "snmpsim.log") as sim:
        yield sim


@pytest.mark.parametrize(("stem", "profile_name"), RECORDINGS.items())
async def test_every_outlet_by_get_equals_the_walk(
    shared_agent: Snmpsim, stem: str, profile_name: str
) -> None:
    pdu = _pdu(shared_agent, stem, profile_name)
    profile = profiles.get(profile_name)
    async with SnmpClient(ClientDefaults()) as client:
        walked = profile.decode(await client.walk_columns(pdu, profile.columns)).readings
        assert walked, stem
        for expected in walked:
            counting = Counting(client)
            result = await read_outlet(counting, pdu, profile, expected.outlet)
            assert result.readings == (expected,), (stem, expected.outlet, result.error)
            # An inlet's row does not follow from its label: read by walking, and said so.
            requests = (0, 1) if expected.outlet.startswith("inlet") else (1, 0)
            assert (len(counting.gets), counting.walks) == requests, (stem, expected.outlet)
