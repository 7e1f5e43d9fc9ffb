"""Importing the database drivers at the memory they need.

asyncmy imports ``cryptography`` when it is imported (``asyncmy.auth``), for one thing
only: encrypting the password with the server's RSA key, which MySQL's ``sha256_password``
and ``caching_sha2_password`` ask for over a connection without TLS. MariaDB has neither
(its ``mysql_native_password`` and ``ed25519`` need no RSA), but the import stays in the
daemon for good: 9.5 MB of RSS (7.4 MB of them file pages, most of them its Rust library's),
which took a 10,000-PDU collector on MariaDB from 142 to 151 MB between cycles, past
issue 15's 150 MB (bench/bench_memory.py --db mariadb). :func:`import_asyncmy` imports
asyncmy without it; the encryption imports it when first asked to encrypt.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

_CRYPTOGRAPHY = "cryptography"


def import_asyncmy() -> None:
    """Import asyncmy (before SQLAlchemy's dialect does) with ``cryptography`` imported
    on first use only. Nothing changes if either is imported already, or if asyncmy's
    ``auth`` module is not shaped as this expects (then it is imported as it is)."""
    if "asyncmy.auth" in sys.modules or _CRYPTOGRAPHY in sys.modules:
        return
    sys.modules[_CRYPTOGRAPHY] = None  # type: ignore[assignment]  # import refused
    try:
        auth: Any = importlib.import_module("asyncmy.auth")
    finally:
        del sys.modules[_CRYPTOGRAPHY]
    encrypt = getattr(auth, "sha2_rsa_encrypt", None)
    if encrypt is None or getattr(auth, "_have_cryptography", None) is not False:
        importlib.reload(auth)  # a version this does not know: as asyncmy imports it
        return
    auth.sha2_rsa_encrypt = _importing_first(auth, encrypt)


def _importing_first(auth: Any, encrypt: Callable[..., bytes]) -> Callable[..., bytes]:
    """``auth.sha2_rsa_encrypt`` that first imports what asyncmy's import left out, then
    puts the original back (which finds the names in its module, as after a full import)."""

    def sha2_rsa_encrypt(password: bytes, salt: bytes, public_key: bytes) -> bytes:
        try:
            from cryptography.hazmat.backends import default_backend
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import padding
        except ImportError:
            pass  # the original then says that cryptography is required
        else:
            vars(auth).update(
                default_backend=default_backend,
                hashes=hashes,
                serialization=serialization,
                padding=padding,
                _have_cryptography=True,
            )
            auth.sha2_rsa_encrypt = encrypt
        return encrypt(password, salt, public_key)

    return sha2_rsa_encrypt
