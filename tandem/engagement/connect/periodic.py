"""Self-rescheduling periodic tasks without duplicates: one live chain per task name."""

from __future__ import annotations

import uuid

from tandem.engagement.connect.models import PeriodicChain


def chain_begin(name: str) -> str:
    """Start a new chain for `name`, retiring any other; returns its token."""
    token = uuid.uuid4().hex
    PeriodicChain.objects.update_or_create(name=name, defaults={"token": token})
    return token


def chain_is_live(name: str, token: str) -> bool:
    """Whether a run carrying `token` belongs to the live chain (an empty token always does:
    a run started by hand, not by a chain)."""
    return not token or PeriodicChain.objects.filter(name=name, token=token).exists()
