"""SNMPv3 (USM: auth and privacy) requests through pysnmp 7's v3arch engine.

v3 is not PowerMon's hot path (few PDUs use it, and its cost is in crypto and engine
discovery), so it keeps pysnmp, which also serves as the reference implementation that
the v1/v2c codec in :mod:`powermond.snmp.ber` is tested against. One engine, created on first
use, is shared by every v3 PDU. Answers are converted to the codec's values, so the walk sees
one representation whatever the version.
"""

from __future__ import annotations

import asyncio
import importlib
import warnings
from collections.abc import Sequence
from typing import Any

from powermond.inventory.model import PduConfig
from powermond.snmp.ber import END_OF_MIB_VIEW, Oid, Varbind, WireValue
from powermond.snmp.errors import SnmpAuthError, SnmpError, SnmpTimeout, check_status

_V3_AUTH_FAILURES = (
    "wrongdigest",
    "unknownusername",
    "decryptionerror",
    "unsupportedsecuritylevel",
    "authenticationfailure",
    "unknownsecurityname",
)
_AUTH = {
    "MD5": "usmHMACMD5AuthProtocol",
    "SHA": "usmHMACSHAAuthProtocol",
    "SHA224": "usmHMAC128SHA224AuthProtocol",
    "SHA256": "usmHMAC192SHA256AuthProtocol",
    "SHA384": "usmHMAC256SHA384AuthProtocol",
    "SHA512": "usmHMAC384SHA512AuthProtocol",
}
#: AES192/256 as net-snmp (and so most PDU firmware) does them: Blumenthal key extension.
_PRIV = {
    "DES": "usmDESPrivProtocol",
    "AES128": "usmAesCfb128Protocol",
    "AES192": "usmAesBlumenthalCfb192Protocol",
    "AES256": "usmAesBlumenthalCfb256Protocol",
}


def convert(value: Any) -> WireValue:
    """pyasn1 value -> int, bytes, dotted str; None for Null, noSuchObject and
    noSuchInstance; END_OF_MIB_VIEW for endOfMibView (pyasn1 derives all four from Null)."""
    from pyasn1.type import univ  # type: ignore[import-untyped]
    from pysnmp.proto.rfc1905 import EndOfMibView

    if isinstance(value, EndOfMibView):
        return END_OF_MIB_VIEW
    if isinstance(value, univ.Null):  # before OctetString: pyasn1's Null subclasses it
        return None
    if isinstance(value, univ.Integer):  # Integer32, Counter32/64, Gauge32, TimeTicks
        return int(value)
    if isinstance(value, univ.OctetString):  # also IpAddress, Opaque, Bits
        return value.asOctets()  # type: ignore[no-any-return]
    if isinstance(value, univ.ObjectIdentifier):
        return ".".join(str(n) for n in value.asTuple())
    return None


class UsmRequester:
    """v3 GET / GETNEXT / GETBULK for one client; ``close()`` releases the engine."""

    def __init__(self) -> None:
        self._engine: Any = None
        self._targets: dict[tuple[str, int, float, int], Any] = {}

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None

    async def request(
        self,
        pdu: PduConfig,
        kind: str,
        oids: Sequence[Oid],
        reps: int,
        *,
        seconds_per_try: float,
        retries: int,
    ) -> list[Varbind]:
        """One request; raises SnmpTimeout, SnmpAuthError or errors.check_status's."""
        _import_pysnmp()
        from pysnmp.entity.rfc3413 import cmdgen
        from pysnmp.hlapi.v3arch.asyncio.cmdgen import LCD
        from pysnmp.proto.rfc1902 import Null, ObjectName

        engine = self._get_engine()
        target = await self._target(pdu, seconds_per_try, retries)
        context = pdu.context.encode()
        addr_name, _params = LCD.configure(engine, _usm_user(pdu), target, context)
        future: asyncio.Future[tuple[Any, int, int, Any]] = (
            asyncio.get_running_loop().create_future()
        )

        def answered(
            _e: Any, _h: Any, error: Any, status: Any, index: Any, varbinds: Any, _c: Any
        ) -> None:
            if not future.done():
                future.set_result((error, int(status), int(index), varbinds))

        varbinds = [(ObjectName(oid), Null("")) for oid in oids]
        if kind == "bulk":
            cmdgen.BulkCommandGeneratorSingleRun().send_varbinds(
                engine, addr_name, None, context, 0, reps, varbinds, answered
            )
        else:
            generator = (
                cmdgen.GetCommandGenerator()
                if kind == "get"
                else cmdgen.NextCommandGeneratorSingleRun()
            )
            generator.send_varbinds(engine, addr_name, None, context, varbinds, answered)
        error, status, index, answer = await future
        if error:
            raise _indication_error(pdu, error, seconds_per_try, retries)
        check_status(status, index)
        return [(oid.asTuple(), convert(value)) for oid, value in answer]

    def _get_engine(self) -> Any:
        if self._engine is None:
            from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

            self._engine = SnmpEngine()
        return self._engine

    async def _target(self, pdu: PduConfig, seconds_per_try: float, retries: int) -> Any:
        key = (pdu.host, pdu.port, seconds_per_try, retries)
        target = self._targets.get(key)
        if target is None:
            from pysnmp.hlapi.v3arch.asyncio import UdpTransportTarget

            try:
                target = await UdpTransportTarget.create(
                    (pdu.host, pdu.port), timeout=seconds_per_try, retries=retries
                )
            except Exception:  # pysnmp wraps resolver errors in PySnmpError
                raise SnmpError(f"cannot resolve {pdu.host}") from None
            self._targets[key] = target
        return target


def _indication_error(pdu: PduConfig, error: Any, timeout: float, retries: int) -> SnmpError:
    from pysnmp.proto import errind

    if isinstance(error, errind.RequestTimedOut):
        # An agent that cannot decrypt a request drops it without a word (net-snmp does):
        # with privacy on, silence may be a wrong key as much as a dead PDU.
        why = "unreachable, or wrong privacy key/protocol" if pdu.priv_key else "unreachable"
        return SnmpTimeout(
            f"no answer from {pdu.host}:{pdu.port} within {timeout:g} s x "
            f"{retries + 1} tries ({why})"
        )
    name = type(error).__name__
    text = str(error)
    if name.lower() in _V3_AUTH_FAILURES or any(w in text.lower() for w in ("digest", "user")):
        return SnmpAuthError(f"SNMPv3 authentication failed: {text}")
    return SnmpError(f"SNMP error: {text}")


def _usm_user(pdu: PduConfig) -> Any:
    from pysnmp.hlapi.v3arch.asyncio import auth

    return auth.UsmUserData(
        str(pdu.user),
        authKey=pdu.auth_key.get_secret_value() if pdu.auth_key else None,
        privKey=pdu.priv_key.get_secret_value() if pdu.priv_key else None,
        authProtocol=getattr(auth, _AUTH[pdu.auth_protocol]) if pdu.auth_protocol else None,
        privProtocol=getattr(auth, _PRIV[pdu.priv_protocol]) if pdu.priv_protocol else None,
    )


def _import_pysnmp() -> None:
    """Import pysnmp's v3arch API quietly: importing it makes pysnmp call pysmi names that
    newer pysmi releases deprecate, a warning about pysnmp, not us."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        importlib.import_module("pysnmp.hlapi.v3arch.asyncio")
