"""The SNMP versions and v3 security protocols a ``[pdu.NAME]`` table may name.

Plain ``Literal`` types, apart from the pydantic models of :mod:`powermond.inventory.model`,
so that ``powermon probe``'s option choices cost nothing to build.
"""

from __future__ import annotations

from typing import Literal

SnmpVersion = Literal["1", "2c", "3"]
AuthProtocol = Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"]
PrivProtocol = Literal["DES", "AES128", "AES192", "AES256"]
