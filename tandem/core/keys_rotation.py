"""`tandem keys rotate`: add a newest key to each ring of a service, then re-encrypt at rest.

Re-encryption goes row by row in primary-key order and writes a row only if its value is still
the one read (compare and set), so it runs beside live traffic. A row already under the newest
key is skipped: an interrupted rotation resumes where it stopped. Hashes of secrets nobody can
read back (security tokens) and links already mailed keep working because rotation never drops
a key: the old keys stay in the ring, after the new one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import InvalidToken
from django.db import models

from tandem.core.keys import PURPOSES, FernetRing, KeySource, prepend_key, refresh_all

CHUNK = 500
Progress = Callable[[str], None]


@dataclass(frozen=True)
class EncryptedColumn:
    """One column encrypted with `ring`; `derived` gives other columns computed from the plain
    value (e.g. a keyed hash), and `derived_current` says whether a row's are up to date."""

    label: str
    model: type[models.Model]
    column: str
    ring: FernetRing
    derived: Callable[[str], dict[str, str]] | None = None
    derived_current: Callable[[models.Model], bool] = field(default=lambda row: True)


@dataclass
class ColumnResult:
    label: str
    total: int = 0
    rewritten: int = 0
    unreadable: int = 0
    changed_meanwhile: int = 0


def keys_add(service: str, var_dir: Path) -> dict[str, str]:
    """Prepend a fresh key to each of the service's rings; {purpose: new key id}."""
    added = {
        purpose: prepend_key(KeySource(service, purpose), var_dir) for purpose in PURPOSES[service]
    }
    refresh_all()
    return added


def reencrypt(column: EncryptedColumn, progress: Progress) -> ColumnResult:
    """Re-encrypt every value of `column` not yet under the ring's newest key."""
    result = ColumnResult(column.label)
    rows = column.model._default_manager.exclude(**{column.column: ""}).order_by("pk")
    result.total = rows.count()
    last_pk: object = None
    done = 0
    while True:
        chunk = rows if last_pk is None else rows.filter(pk__gt=last_pk)
        batch = list(chunk[:CHUNK])
        if not batch:
            break
        for row in batch:
            _reencrypt_row(column, row, result)
        done += len(batch)
        last_pk = batch[-1].pk
        progress(f"{column.label}: {done}/{result.total}")
    return result


def _reencrypt_row(column: EncryptedColumn, row: models.Model, result: ColumnResult) -> None:
    value = getattr(row, column.column)
    if column.ring.is_current(value) and column.derived_current(row):
        return
    try:
        plain = column.ring.decrypt(value)
    except InvalidToken:
        result.unreadable += 1
        return
    updates = {column.column: column.ring.encrypt(plain)}
    if column.derived is not None:
        updates.update(column.derived(plain))
    # Compare and set: a value changed since it was read is left to its writer.
    written = (
        type(row)._default_manager.filter(pk=row.pk, **{column.column: value}).update(**updates)
    )
    if written:
        result.rewritten += 1
    else:
        result.changed_meanwhile += 1


def rotate(
    service: str,
    var_dir: Path,
    columns: list[EncryptedColumn],
    *,
    add_keys: bool,
    progress: Progress,
) -> list[ColumnResult]:
    """Add keys (unless resuming), then re-encrypt each column, reporting progress."""
    if add_keys:
        for purpose, kid in keys_add(service, var_dir).items():
            progress(f"{service} {purpose}: new key {kid}")
    return [reencrypt(column, progress) for column in columns]
