"""Reads of the sends app, scoped to the actor's account."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum

from tandem.engagement.accounts.models import User
from tandem.engagement.sends.errors import SendNotFoundError
from tandem.engagement.sends.models import RecordStatus, Send, SendEvent


@dataclass(frozen=True)
class SendProgress:
    """Counts of a send's records by status, and its tracking totals."""

    total: int
    queued: int
    claimed: int
    sent: int
    bounced: int
    failed: int
    unknown: int
    opens: int = 0
    unique_opens: int = 0
    clicks: int = 0
    unique_clicks: int = 0
    unsubscribes: int = 0

    @property
    def remaining(self) -> int:
        return self.queued + self.claimed

    @property
    def done(self) -> int:
        return self.total - self.remaining

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else int(100 * self.done / self.total)


def send_list(*, actor: User) -> QuerySet[Send]:
    """Sends of the actor's account, newest first."""
    if actor.account_id is None:
        return Send.objects.none()
    return Send.objects.filter(account_id=actor.account_id).select_related(
        "email", "data_extension"
    )


def send_get_for_actor(*, actor: User, send_id: int) -> Send:
    """One send of the actor's account; SendNotFoundError otherwise."""
    send = send_list(actor=actor).filter(pk=send_id).first()
    if send is None:
        raise SendNotFoundError("No such send.")
    return send


def send_get(*, send_id: int) -> Send:
    """One send by id (for the command line, which acts for the installation)."""
    send = (
        Send.objects.select_related("email", "data_extension", "account").filter(pk=send_id).first()
    )
    if send is None:
        raise SendNotFoundError(f"there is no send {send_id}")
    return send


def send_progress(*, send: Send, tracking: bool = False) -> SendProgress:
    """Where the send stands; with `tracking`, its opens, clicks and unsubscribes too."""
    counts = dict(
        send.records.order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    # Queued records at or below the claim cursor belong to a batch's range: claimed.
    cursor_at = Send.objects.filter(pk=send.pk).values_list("claim_cursor", flat=True).first()
    in_ranges = (
        send.records.filter(status=RecordStatus.QUEUED, id__lte=cursor_at).count()
        if cursor_at and counts.get(RecordStatus.QUEUED)
        else 0
    )
    extra: dict[str, int] = {}
    if tracking:
        totals = send.records.aggregate(
            opens=Sum("open_count"),
            unique_opens=Count("id", filter=Q(first_opened_at__isnull=False)),
            clicks=Sum("click_count"),
            unique_clicks=Count("id", filter=Q(first_clicked_at__isnull=False)),
            unsubscribes=Count("id", filter=Q(unsubscribed_at__isnull=False)),
        )
        extra = {key: value or 0 for key, value in totals.items()}
    return SendProgress(
        total=sum(counts.values()),
        queued=counts.get(RecordStatus.QUEUED, 0) - in_ranges + counts.get(RecordStatus.RETRY, 0),
        claimed=counts.get(RecordStatus.CLAIMED, 0) + in_ranges,
        sent=counts.get(RecordStatus.SENT, 0),
        bounced=counts.get(RecordStatus.BOUNCED, 0),
        failed=counts.get(RecordStatus.FAILED, 0),
        unknown=counts.get(RecordStatus.UNKNOWN, 0),
        **extra,
    )


def send_problem_records(*, send: Send, limit: int = 100) -> QuerySet:
    """Records that bounced, failed or have an unknown outcome, with their errors."""
    statuses = (RecordStatus.BOUNCED, RecordStatus.FAILED, RecordStatus.UNKNOWN)
    return send.records.filter(status__in=statuses).order_by("id")[:limit]


def send_events(*, send: Send) -> QuerySet[SendEvent]:
    """The send's audit trail."""
    return send.events.order_by("occurred_at", "id")
