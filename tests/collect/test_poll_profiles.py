"""The daemon's profile per PDU: one per model and custom column, however many PDUs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from powermond.collect.poll import _profile_for
from powermond.inventory.model import PduConfig

pytestmark = pytest.mark.timeout(30)


def test_pdus_of_one_model_share_a_profile_and_custom_columns_keep_theirs() -> None:
    rpdu2 = [PduConfig(name=f"p{i}", host="192.0.2.1", profile="apc-rpdu2") for i in range(5000)]
    assert len({id(_profile_for(p)) for p in rpdu2}) == 1
    assert _profile_for(rpdu2[0]).name == "apc-rpdu2"
    amps = PduConfig(name="old", host="192.0.2.2", oid="1.3.6.1.4.1.318.1.1.12.3.5.1.1.7",
                     quantity="current", scale=0.1, voltage=230)  # fmt: skip
    watts = replace(amps, quantity="power", voltage=None, scale=1.0)
    assert _profile_for(amps) is not _profile_for(watts)
    assert _profile_for(amps) is _profile_for(replace(amps, name="old2"))
    assert _profile_for(amps).columns == ("1.3.6.1.4.1.318.1.1.12.3.5.1.1.7",)
