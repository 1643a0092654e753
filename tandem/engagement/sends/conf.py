"""Tuning of the delivery pipeline, from TANDEM_SEND_* variables (Django settings may override)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from tandem.core.env import env_int


@dataclass(frozen=True)
class DeliveryConfig:
    """How one delivery loop claims, sends and retries."""

    smtp_host: str
    smtp_port: int
    timeout: float
    connections: int
    batch_size: int
    messages_per_connection: int
    retry_attempts: int
    retry_backoff: float
    max_attempts: int
    breaker_batches: int
    lease_seconds: int
    parallelism: int

    @property
    def heartbeat_seconds(self) -> float:
        """How often a loop renews its batch's heartbeat while delivering: four times a lease,
        so that retries outlasting the lease never make recovery declare a live batch lost."""
        return max(0.5, self.lease_seconds / 4)

    @property
    def batch_deadline(self) -> float:
        """Stop taking new messages of a batch after this long, well inside the lease."""
        return max(1.0, self.lease_seconds / 4)


def _setting(name: str, default: int, *, minimum: int = 0) -> int:
    value = getattr(settings, name, None)
    if isinstance(value, int):
        return value
    return env_int(f"TANDEM_{name}", default, minimum=minimum)


def delivery_config() -> DeliveryConfig:
    """The configuration of this process."""
    return DeliveryConfig(
        smtp_host=settings.EMAIL_HOST,
        smtp_port=settings.EMAIL_PORT,
        timeout=_setting("SEND_SMTP_TIMEOUT_MS", settings.EMAIL_TIMEOUT * 1000, minimum=1) / 1000,
        connections=_setting("SEND_CONNECTIONS", 16, minimum=1),
        batch_size=_setting("SEND_BATCH_SIZE", 500, minimum=1),
        messages_per_connection=_setting("SEND_MESSAGES_PER_CONNECTION", 1000, minimum=1),
        retry_attempts=_setting("SEND_RETRY_ATTEMPTS", 4, minimum=1),
        retry_backoff=_setting("SEND_RETRY_BACKOFF_MS", 500) / 1000,
        max_attempts=_setting("SEND_MAX_ATTEMPTS", 12, minimum=1),
        breaker_batches=_setting("SEND_BREAKER_BATCHES", 3, minimum=1),
        lease_seconds=_setting("SEND_LEASE_SECONDS", 120, minimum=2),
        parallelism=_setting("SEND_PARALLELISM", 4, minimum=1),
    )
