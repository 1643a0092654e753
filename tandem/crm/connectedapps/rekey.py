"""What `tandem keys rotate` re-encrypts in the CRM: each Connected App's consumer secret,
whose keyed hash is recomputed with the newest hash key at the same time."""

from __future__ import annotations

from django.db import models

from tandem.core.keys_rotation import EncryptedColumn
from tandem.crm.connectedapps.models import ConnectedApp
from tandem.crm.oauth.crypto import SECRET_ENCRYPTION, SECRET_HASHES, hash_secret


def _hash_current(row: models.Model) -> bool:
    assert isinstance(row, ConnectedApp)
    return SECRET_HASHES.hash_key_id(row.client_secret) == SECRET_HASHES.newest_id


def encrypted_columns() -> list[EncryptedColumn]:
    return [
        EncryptedColumn(
            label="crm consumer secrets",
            model=ConnectedApp,
            column="consumer_secret_encrypted",
            ring=SECRET_ENCRYPTION,
            derived=lambda plain: {"client_secret": hash_secret(plain)},
            derived_current=_hash_current,
        )
    ]
