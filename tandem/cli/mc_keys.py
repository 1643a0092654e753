"""The local stack's "Salesforce Marketing Cloud" key pair: Connect signs, the CRM verifies."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tandem.cli.tls import write_private

CALLBACK_PATH = "/email/admin/salesforce-integration/callback/"


@dataclass(frozen=True)
class McKeys:
    """Where the key, the certificate and the consumer key live."""

    private_key_file: Path
    certificate_file: Path
    consumer_key: str


def ensure_mc_keys(directory: Path) -> McKeys:
    """Create once (RSA 2048, self-signed for ten years) and reuse afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    key_file, cert_file = directory / "private_key.pem", directory / "certificate.pem"
    consumer_file = directory / "consumer_key"
    if not consumer_file.exists():
        write_private(consumer_file, ("3MVG9" + secrets.token_urlsafe(48)).encode("ascii"))
    if not key_file.exists() or not cert_file.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        write_private(
            key_file,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        cert_file.write_bytes(_certificate(key).public_bytes(serialization.Encoding.PEM))
    return McKeys(key_file, cert_file, consumer_file.read_text(encoding="ascii").strip())


def _certificate(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tandem Marketing Cloud Connect")])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )


def mc_env(keys: McKeys, engagement_url: str) -> tuple[dict[str, str], dict[str, str]]:
    """(CRM env, Engagement env); a deployer's own TANDEM_MC_* settings are not overridden."""
    callback = engagement_url.rstrip("/") + CALLBACK_PATH
    crm = {
        "TANDEM_MC_CONSUMER_KEY": keys.consumer_key,
        "TANDEM_MC_CERTIFICATE_FILE": str(keys.certificate_file),
        "TANDEM_MC_CALLBACK_URL": callback,
    }
    engagement = {
        "TANDEM_MC_CONSUMER_KEY": keys.consumer_key,
        "TANDEM_CONNECT_PRIVATE_KEY_FILE": str(keys.private_key_file),
        "TANDEM_MC_CALLBACK_URL": callback,
    }
    return crm, engagement


def existing_mc_keys(directory: Path) -> McKeys | None:
    """The key pair and consumer key `tandem up` made under `directory`, if it did."""
    key_file, cert_file = directory / "private_key.pem", directory / "certificate.pem"
    consumer_file = directory / "consumer_key"
    if not (key_file.exists() and cert_file.exists() and consumer_file.exists()):
        return None
    return McKeys(key_file, cert_file, consumer_file.read_text(encoding="ascii").strip())


def local_mc_env_setdefault(directory: Path) -> bool:
    """For a command run beside `tandem up` (`tandem connect …`): when the environment names no
    consumer key, take the Engagement's settings from the keys under `directory`, as `tandem up`
    gives them to its children. Returns whether it did."""
    if os.environ.get("TANDEM_MC_CONSUMER_KEY"):
        return False
    keys = existing_mc_keys(directory)
    if keys is None:
        return False
    engagement_url = os.environ.get("TANDEM_ENGAGEMENT_URL", "http://localhost:8002")
    for name, value in mc_env(keys, engagement_url)[1].items():
        os.environ.setdefault(name, value)
    return True
