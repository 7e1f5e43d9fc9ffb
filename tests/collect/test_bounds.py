"""The cycle bound the README states is the one the code keeps (issue 13)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from powermond.collect.cycle import ROUNDS_PER_WALK, SLACK_SECONDS, cycle_bound, pdu_bound
from powermond.inventory.model import PduConfig
from powermond.snmp.client import ClientDefaults, SnmpClient

README = Path(__file__).resolve().parents[2] / "README.md"


def _pdu(name: str, **fields: object) -> PduConfig:
    return PduConfig(
        name=name,
        host="127.0.0.1",
        profile="apc-rpdu2",
        community=SecretStr("c"),
        **fields,  # type: ignore[arg-type]
    )


def test_readme_states_the_bound_the_code_keeps() -> None:
    text = " ".join(README.read_text().split())  # the README wraps lines
    times = "\N{MULTIPLICATION SIGN}"
    stated = f"`{ROUNDS_PER_WALK} {times} timeout {times} (retries + 1) + {SLACK_SECONDS:g} s`"
    assert stated in text
    assert f"`⌈PDUs / concurrency⌉` times the longest PDU bound + {SLACK_SECONDS:g} s" in text
    client = SnmpClient(ClientDefaults(timeout=2.0, retries=1))
    slow = _pdu("slow", timeout=5.0, retries=2)
    assert pdu_bound(client, _pdu("a")) == 3 * 2.0 * 2 + 0.5
    assert pdu_bound(client, slow) == 3 * 5.0 * 3 + 0.5
    # Three PDUs, two at a time: two waves of the slowest PDU's bound.
    assert cycle_bound(client, [_pdu("a"), slow, _pdu("b")], 2) == 2 * (3 * 5.0 * 3 + 0.5) + 0.5
