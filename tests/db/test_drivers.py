"""The drivers' imports: asyncmy without cryptography until a password needs RSA.

Each check runs in a fresh interpreter: this one has imported asyncmy already (other tests)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("asyncmy")


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.mariadb
def test_a_mariadb_connection_does_not_import_cryptography(mariadb_url: str) -> None:
    out = _run(f"""
        import asyncio, sys
        from sqlalchemy import text
        from powermond.db.engine import Database

        async def main():
            async with Database.from_url("{mariadb_url}") as db:
                async with db.transaction() as session:
                    assert await session.scalar(text("SELECT 1")) == 1

        asyncio.run(main())
        print(sorted(m for m in sys.modules if m.split(".")[0] == "cryptography"))
    """)
    assert out == "[]"


def test_rsa_password_encryption_imports_cryptography_when_asked() -> None:
    """MySQL's caching_sha2_password without TLS: the password encrypted with the server's
    public key, as asyncmy's own does, and the original function back in place after."""
    out = _run("""
        import os, sys
        from powermond.db.drivers import import_asyncmy
        import_asyncmy()
        from asyncmy import auth
        assert "cryptography" not in sys.modules
        assert auth.sha2_rsa_encrypt.__closure__ is not None  # the stand-in, wrapping asyncmy's

        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        salt = os.urandom(20)
        sealed = auth.sha2_rsa_encrypt(b"secret", salt, pem)
        oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
        assert key.decrypt(sealed, oaep) == auth._xor_password(b"secret\\0", salt)
        assert auth._have_cryptography is True
        assert auth.sha2_rsa_encrypt.__closure__ is None  # asyncmy's own again
        assert key.decrypt(auth.sha2_rsa_encrypt(b"secret", salt, pem), oaep)
        print("ok")
    """)
    assert out == "ok"


def test_nothing_changes_when_cryptography_is_imported_already() -> None:
    out = _run("""
        import cryptography
        from powermond.db.drivers import import_asyncmy
        import_asyncmy()
        from asyncmy import auth
        print(auth._have_cryptography, auth.sha2_rsa_encrypt.__module__)
    """)
    assert out == "True asyncmy.auth"
