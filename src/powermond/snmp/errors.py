"""What an SNMP request can fail with. Messages name no secret (community, v3 keys)."""

from __future__ import annotations

from powermond.errors import PowermonError

#: SNMP error-status values that matter to a walk (RFC 3416).
TOO_BIG = 1
NO_SUCH_NAME = 2  # SNMPv1's way of saying "end of MIB" to a GETNEXT
_ERROR_NAMES = {
    1: "tooBig",
    2: "noSuchName",
    3: "badValue",
    4: "readOnly",
    5: "genErr",
    6: "noAccess",
    7: "wrongType",
    8: "wrongLength",
    9: "wrongEncoding",
    10: "wrongValue",
    11: "noCreation",
    12: "inconsistentValue",
    13: "resourceUnavailable",
    14: "commitFailed",
    15: "undoFailed",
    16: "authorizationError",
    17: "notWritable",
    18: "inconsistentName",
}
#: What an operator should check, for the statuses a read can meet that are not bugs.
_HINTS = {
    6: "the community or user may not read these objects (agent access control)",
    16: "the community or user may not read these objects (agent access control)",
}


class SnmpError(PowermonError):
    """A PDU did not answer usefully. The message names no secret."""


class SnmpTimeout(SnmpError):
    """No answer within timeout x (retries + 1)."""


class SnmpAuthError(SnmpError):
    """SNMPv3 authentication or privacy failed (wrong user, key or protocol)."""


class TooBig(SnmpError):
    """The agent cannot fit the answer in one message: ask for fewer rows."""


class NoSuchName(SnmpError):
    """SNMPv1: the varbind at ``index`` (0-based) has no answer."""

    def __init__(self, index: int) -> None:
        super().__init__("noSuchName")
        self.index = index


def check_status(status: int, index: int) -> None:
    """Raise for a non-zero error-status; ``index`` is the 1-based error-index."""
    if status == 0:
        return
    if status == TOO_BIG:
        raise TooBig("tooBig")
    if status == NO_SUCH_NAME and index >= 1:
        raise NoSuchName(index - 1)
    name = _ERROR_NAMES.get(status, f"error-status {status}")
    hint = _HINTS.get(status)
    raise SnmpError(f"the PDU answered {name}" + (f": {hint}" if hint else ""))
