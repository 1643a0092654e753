"""Writes that may be lost in a crash without harm, committed without waiting for the disk."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def relaxed_commit() -> Iterator[None]:
    """A transaction whose commit does not wait for WAL flush (PostgreSQL).

    For usage counters and query cursors only: a crash loses at most the last fraction of a
    second of them (a few calls uncounted, a cursor that falls back to OFFSET), never data.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield
