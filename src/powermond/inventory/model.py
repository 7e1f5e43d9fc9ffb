"""The validated inventory: PDUs, their SNMP settings, and machines with their outlets.

Built by :mod:`powermond.inventory.load` from ``pdus.toml`` and ``machines.toml``.
Every object is immutable; a reload builds a new :class:`Inventory` and swaps it whole.

The tables are pydantic *dataclasses* with slots, validated when made (strict, unknown keys
refused), not pydantic models: the daemon keeps every PDU for its whole life, and a model
instance carries a ``__dict__`` and a fields-set of its own (~2 kB for a PDU's 22 fields,
20 MB at 10,000 PDUs) where a slotted instance is its 22 references (~200 bytes).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, SecretStr, model_validator
from pydantic.dataclasses import dataclass

from powermond.inventory.protocols import AuthProtocol as AuthProtocol
from powermond.inventory.protocols import PrivProtocol as PrivProtocol
from powermond.inventory.protocols import SnmpVersion as SnmpVersion

Quantity = Literal["power", "current"]

#: Outlet labels as printed on the PDU: ``N``, ``U.N`` (unit U of a daisy chain), or a
#: vendor ID: ServerTech's ``AB3`` (tower A, infeed B, outlet 3), WTI's ``B3`` (branch B).
OUTLET_LABEL = re.compile(r"^(?:\d+|\d+\.\d+|[A-Z]{1,2}\d+)$")

#: The PDU's own inlet meter: ``inlet`` (unit 1, inlet 1), ``inlet.N``, ``inlet.U.N``.
INLET_LABEL = re.compile(r"^inlet(?:\.(\d+(?:\.\d+)?))?$", re.IGNORECASE)


def normalize_outlet_label(label: str) -> str:
    """``"1.5"`` and ``"5"`` name the same outlet (unit 1 is the standalone unit), and
    ``"inlet.1"`` is ``"inlet"``."""
    label = label.strip()
    if inlet := INLET_LABEL.match(label):
        number = normalize_outlet_label(inlet[1]) if inlet[1] else "1"
        return "inlet" if number == "1" else f"inlet.{number}"
    label = label.upper()
    if not OUTLET_LABEL.match(label):
        raise ValueError(f"outlet {label!r} is not N, U.N, a vendor ID (AB3, B3) or inlet[.N]")
    if "." in label:
        unit, number = label.split(".")
        return str(int(number)) if int(unit) == 1 else f"{int(unit)}.{int(number)}"
    return label if not label.isdigit() else str(int(label))


_STRICT = ConfigDict(extra="forbid", strict=True)


@dataclass(frozen=True, slots=True, config=_STRICT)
class PduConfig:
    """One ``[pdu.NAME]`` table."""

    name: str
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 161
    profile: str | None = None
    version: SnmpVersion = "2c"
    community: SecretStr = SecretStr("public")
    user: str | None = None
    auth_protocol: AuthProtocol | None = None
    auth_key: SecretStr | None = None
    priv_protocol: PrivProtocol | None = None
    priv_key: SecretStr | None = None
    context: str = ""
    timeout: Annotated[float, Field(gt=0, le=60)] | None = None
    retries: Annotated[int, Field(ge=0, le=10)] | None = None
    bulk: bool = True
    max_repetitions: Annotated[int, Field(ge=1, le=1000)] | None = None
    # The custom ``oid`` form: one column walked as per-outlet power or current.
    oid: str | None = None
    quantity: Quantity = "power"
    scale: float = 1.0
    voltage: Annotated[float, Field(gt=0, le=1000)] | None = None
    power_factor: Annotated[float, Field(gt=0, le=1)] = 1.0

    @model_validator(mode="after")
    def _consistent(self) -> PduConfig:
        if self.oid is None and self.profile in (None, "oid"):
            raise ValueError("needs `profile` (a vendor profile) or `oid` (a custom column)")
        if self.oid is not None and self.profile not in (None, "oid"):
            raise ValueError("`oid` and `profile` exclude each other")
        if self.oid is not None and not re.fullmatch(r"\.?\d+(\.\d+)+", self.oid):
            raise ValueError(f"`oid` {self.oid!r} is not a dotted numeric OID")
        if self.version == "3":
            if not self.user:
                raise ValueError("SNMPv3 needs `user`")
            if (self.auth_protocol is None) != (self.auth_key is None):
                raise ValueError("`auth_protocol` and `auth_key` go together")
            if (self.priv_protocol is None) != (self.priv_key is None):
                raise ValueError("`priv_protocol` and `priv_key` go together")
            if self.priv_protocol is not None and self.auth_protocol is None:
                raise ValueError("privacy (`priv_*`) needs authentication (`auth_*`)")
        elif any(v is not None for v in (self.user, self.auth_key, self.priv_key)):
            raise ValueError(f'`user`/`auth_*`/`priv_*` need version = "3", not {self.version!r}')
        return self

    @property
    def profile_name(self) -> str:
        return "oid" if self.oid is not None else str(self.profile)


@dataclass(frozen=True, slots=True, config=_STRICT)
class OutletRef:
    """An outlet of a configured PDU: ``pdu:label``."""

    pdu: str
    label: str

    def __str__(self) -> str:
        return f"{self.pdu}:{self.label}"


@dataclass(frozen=True, slots=True, config=_STRICT)
class MachineConfig:
    """One ``[machine."NAME"]`` table."""

    name: str
    outlets: tuple[OutletRef, ...]
    rrd: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Inventory:
    """Everything configured: PDUs by name and machines by name (made of validated parts, so
    not validated again: that would copy both mappings)."""

    pdus: dict[str, PduConfig]
    machines: dict[str, MachineConfig]

    def machine_of(self, pdu: str, label: str) -> str | None:
        """The machine fed by outlet ``label`` of ``pdu``, if any."""
        for machine in self.machines.values():
            for ref in machine.outlets:
                if ref.pdu == pdu and ref.label == label:
                    return machine.name
        return None

    def with_pdus(self, pdus: dict[str, PduConfig]) -> Inventory:
        """The same machines over ``pdus`` (a collector's share of the PDUs)."""
        return dataclasses.replace(self, pdus=pdus)

    def outlet_map(self) -> dict[tuple[str, str], str]:
        """(pdu, outlet label) -> machine name, for resolving readings at write time."""
        return {(r.pdu, r.label): m.name for m in self.machines.values() for r in m.outlets}
