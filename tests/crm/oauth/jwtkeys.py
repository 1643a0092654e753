"""Test keys: an RSA key pair, its self-signed certificate, and assertions signed with it."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from functools import lru_cache
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def key_pair(name: str = "client") -> tuple[rsa.RSAPrivateKey, str]:
    """A private key and the PEM of a self-signed certificate for it (cached per name)."""
    return _key_pair(name)


@lru_cache(maxsize=8)
def _key_pair(name: str) -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def private_pem(name: str = "client") -> str:
    key, _ = key_pair(name)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def assertion(
    *, iss: str, sub: str, aud: str, lifetime: int = 120, key_name: str = "client", **extra: Any
) -> str:
    """An RS256 assertion as a Salesforce JWT bearer client builds it."""
    claims: dict[str, Any] = {
        "iss": iss,
        "sub": sub,
        "aud": aud,
        "exp": int(time.time()) + lifetime,
        "jti": uuid.uuid4().hex,
    }
    claims.update(extra)
    claims = {k: v for k, v in claims.items() if v is not None}
    key, _ = key_pair(key_name)
    return jwt.encode(claims, key, algorithm="RS256")
