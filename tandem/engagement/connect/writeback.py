"""Tracking written back to the CRM: one et4ae5__IndividualEmailResult__c per recipient.

After a CRM-audience send completes, `send_results_write` creates the results with
composite/sobjects in batches of 200 (bulk-style: the CRM counts these against its API limit);
`tracking_write` later updates opens, clicks, bounces and unsubscribes by the external-id field
`et4ae5__TrackingKey__c`. Both run only while Connect is available (paused during the upgrade
and outages) and work from differences, so they catch up afterwards with nothing lost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from django.db.models import Q
from django.utils import timezone

from tandem.engagement.connect import services
from tandem.engagement.connect.availability import (
    STALE_AFTER,
    Availability,
    connect_availability,
)
from tandem.engagement.connect.client import CrmClient, CrmResult, CrmToken
from tandem.engagement.connect.models import CrmAudience, CrmConnection, EmailResultLink
from tandem.engagement.sends.models import RecordStatus, SendRecord

IER = "et4ae5__IndividualEmailResult__c"
TRACKING_KEY = "et4ae5__TrackingKey__c"
BATCH = 200
WRITTEN_STATUSES = (RecordStatus.SENT, RecordStatus.BOUNCED)


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def tracking_fields(record: SendRecord) -> dict[str, Any]:
    """The IER fields that change after the send: opens, clicks, bounces, unsubscribes."""
    bounced = record.status == RecordStatus.BOUNCED
    return {
        "et4ae5__Opened__c": record.first_opened_at is not None,
        "et4ae5__DateOpened__c": _when(record.first_opened_at),
        "et4ae5__Clicked__c": record.first_clicked_at is not None,
        "et4ae5__NumberOfUniqueClicks__c": record.click_count,
        "et4ae5__DateClicked__c": _when(record.first_clicked_at),
        "et4ae5__HardBounce__c": bounced,
        "et4ae5__DateBounced__c": _when(record.sent_at) if bounced else None,
        "et4ae5__DateUnsubscribed__c": _when(record.unsubscribed_at),
    }


def tracking_key(record: SendRecord) -> str:
    return f"{record.send_id}:{record.pk}"


def _result_fields(record: SendRecord, subject: str) -> dict[str, Any]:
    person = "et4ae5__Lead__c" if record.subscriber_key.startswith("00Q") else "et4ae5__Contact__c"
    return {
        "attributes": {"type": IER},
        "Name": f"{subject or 'Email'}"[:80],
        person: record.subscriber_key,
        "et4ae5__SubjectLine__c": subject[:255],
        "et4ae5__Email__c": record.email[:80],
        "et4ae5__JobId__c": str(record.send_id),
        "et4ae5__SubscriberKey__c": record.subscriber_key[:80],
        "et4ae5__DateSent__c": _when(record.sent_at),
        TRACKING_KEY: tracking_key(record),
        **tracking_fields(record),
    }


def _connection(account_id: int) -> CrmConnection | None:
    if connect_availability(account_id) is not Availability.AVAILABLE:
        return None
    return CrmConnection.objects.filter(account_id=account_id).first()


def send_results_write(*, send_id: int) -> int | None:
    """Create the IERs of a completed CRM-audience send; None while it cannot run yet."""
    audience = (
        CrmAudience.objects.select_related("send", "send__email").filter(send_id=send_id).first()
    )
    if audience is None or audience.results_written_at is not None:
        return 0
    if not audience.send.is_final:
        return None
    connection = _connection(audience.account_id)
    if connection is None:
        return None
    if not _claim(audience):
        return None
    try:
        return _results_write(connection, audience)
    finally:
        CrmAudience.objects.filter(pk=audience.pk).update(results_claimed_at=None)


def _claim(audience: CrmAudience) -> bool:
    now = timezone.now()
    free = Q(results_claimed_at__isnull=True) | Q(results_claimed_at__lt=now - STALE_AFTER)
    return bool(
        CrmAudience.objects.filter(free, pk=audience.pk, results_written_at__isnull=True).update(
            results_claimed_at=now
        )
    )


def _results_write(connection: CrmConnection, audience: CrmAudience) -> int:
    send_id = audience.send_id
    subject = audience.send.email.subject
    records = list(
        SendRecord.objects.filter(
            send_id=send_id, status__in=WRITTEN_STATUSES, crm_result__isnull=True
        ).order_by("id")
    )
    written = 0
    for start in range(0, len(records), BATCH):
        written += _write_batch(connection, audience, records[start : start + BATCH], subject)
    if not SendRecord.objects.filter(
        send_id=send_id, status__in=WRITTEN_STATUSES, crm_result__isnull=True
    ).exists():
        CrmAudience.objects.filter(pk=audience.pk).update(results_written_at=timezone.now())
    return written


def _write_batch(
    connection: CrmConnection,
    audience: CrmAudience,
    records: Sequence[SendRecord],
    subject: str,
) -> int:
    payload = [_result_fields(record, subject) for record in records]

    def create(client: CrmClient, token: CrmToken) -> CrmResult:
        return client.composite_create(token=token, records=payload)

    answers = cast(CrmResult, services.crm_call(connection, create)).data
    now = timezone.now()
    links = [
        EmailResultLink(
            audience=audience,
            record=record,
            tracking_key=tracking_key(record),
            crm_id=str(answer["id"]),
            written=tracking_fields(record),
            written_at=now,
        )
        for record, answer in zip(records, answers, strict=False)
        if isinstance(answer, dict) and answer.get("success")
    ]
    EmailResultLink.objects.bulk_create(links, ignore_conflicts=True)
    return len(links)


def tracking_write(*, account_id: int) -> int:
    """Update the account's IERs whose opens, clicks, bounces or unsubscribes changed."""
    connection = _connection(account_id)
    if connection is None:
        return 0
    updated = 0
    for link in EmailResultLink.objects.filter(audience__account_id=account_id).select_related(
        "record"
    ):
        fields = tracking_fields(link.record)
        if fields == link.written:
            continue

        services.crm_call(connection, _upsert(link.tracking_key, fields))
        EmailResultLink.objects.filter(pk=link.pk).update(written=fields, written_at=timezone.now())
        updated += 1
    return updated


def _upsert(key: str, fields: dict[str, Any]) -> Callable[[CrmClient, CrmToken], CrmResult]:
    def upsert(client: CrmClient, token: CrmToken) -> CrmResult:
        return client.record_upsert(
            token=token, sobject=IER, field=TRACKING_KEY, key=key, fields=fields
        )

    return upsert


def pending_results_send_ids(account_id: int) -> list[int]:
    """Completed CRM-audience sends whose results are not written yet (catch-up)."""
    return list(
        CrmAudience.objects.filter(
            account_id=account_id,
            results_written_at__isnull=True,
            send__status__in=["completed", "cancelled", "failed"],
        ).values_list("send_id", flat=True)
    )
