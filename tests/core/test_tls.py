"""The local CA is made once and its server certificate covers the local host names."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from tandem.cli.tls import ensure_local_tls


def test_certificates_are_created_once_and_reused(tmp_path: Path) -> None:
    first = ensure_local_tls(tmp_path)
    before = first.cert_file.read_bytes()

    second = ensure_local_tls(tmp_path)

    assert second == first
    assert second.cert_file.read_bytes() == before


def test_server_certificate_is_signed_by_the_ca_for_local_names(tmp_path: Path) -> None:
    tls = ensure_local_tls(tmp_path)
    ca = x509.load_pem_x509_certificate(tls.ca_file.read_bytes())
    server = x509.load_pem_x509_certificate(tls.cert_file.read_bytes())

    server.verify_directly_issued_by(ca)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"localhost", "*.my.localhost"} <= set(names.get_values_for_type(x509.DNSName))


def test_private_keys_are_readable_only_by_the_owner(tmp_path: Path) -> None:
    tls = ensure_local_tls(tmp_path)

    assert tls.key_file.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "ca-key.pem").stat().st_mode & 0o777 == 0o600
