"""Tasks that prove the worker and broker are alive."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="tandem.core.ping")
def ping_task(payload: str = "pong") -> str:
    """Echo the payload back; used by health checks and the end-to-end test."""
    return payload
