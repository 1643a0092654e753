"""The tracking write-back service (to the CRM): one et4ae5__IndividualEmailResult__c per recipient.

After a CRM-audience send completes (the worker's results check finds it within seconds, for an
hour; the hourly tracking task after that), `send_results_write` creates the results with
composite/sobjects in batches of 200 (bulk-style: the CRM counts these against its API limit),
or, for CONNECT_BULK_WRITEBACK_THRESHOLD results or more, with one Bulk API upsert job;
`tracking_write` later updates opens, clicks, bounces and unsubscribes by the external-id field
`et4ae5__TrackingKey__c` (one Bulk upsert job when that many changed). Both run only while
Connect is available (paused during the upgrade and outages) and work from differences, so they
catch up afterwards with nothing lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from tandem.engagement.connect import bulk, services
from tandem.engagement.connect.availability import (
    STALE_AFTER,
    Availability,
    connect_availability,
)
from tandem.engagement.connect.client import CrmClient, CrmError, CrmResult, CrmToken
from tandem.engagement.connect.errors import ConnectError
from tandem.engagement.connect.models import CrmAudience, CrmConnection, EmailResultLink
from tandem.engagement.sends.models import FINAL_SEND_STATUSES, RecordStatus, SendRecord

logger = logging.getLogger(__name__)

IER = "et4ae5__IndividualEmailResult__c"
TRACKING_KEY = "et4ae5__TrackingKey__c"
BATCH = 200
WRITTEN_STATUSES = (RecordStatus.SENT, RecordStatus.BOUNCED)
EMPTIED = "#N/A"  # the Bulk API's way to empty a field
# How long after a send's end the frequent results check keeps trying; afterwards the hourly
# tracking task catches up (so an account whose Connect stays down is not retried every few s).
RECENT = timedelta(hours=1)


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
    except (CrmError, ConnectError) as exc:
        # Nothing is lost: what was written is linked; the next run writes the rest and
        # settles any result whose answer was lost (DUPLICATE_VALUE) by a query.
        logger.warning("IndividualEmailResults of send %s not all written: %s", send_id, exc)
        return None
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
    if len(records) >= settings.CONNECT_BULK_WRITEBACK_THRESHOLD:
        written = _write_bulk(connection, audience, records, subject)
    else:
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

    answers = cast(CrmResult, services.crm_call(connection, create, counted=True)).data
    ids: dict[int, str] = {}
    duplicates: list[SendRecord] = []
    for record, answer in zip(records, answers if isinstance(answers, list) else [], strict=False):
        if isinstance(answer, dict) and answer.get("success"):
            ids[record.pk] = str(answer["id"])
        elif _duplicate(answer):
            duplicates.append(record)
    if duplicates:  # written before, but the answer was lost: find them by tracking key
        found = results_by_tracking_key(connection, [tracking_key(r) for r in duplicates])
        ids |= {r.pk: found[tracking_key(r)] for r in duplicates if tracking_key(r) in found}
    _links_save(audience, [r for r in records if r.pk in ids], ids)
    return len(ids)


def _write_bulk(
    connection: CrmConnection,
    audience: CrmAudience,
    records: Sequence[SendRecord],
    subject: str,
) -> int:
    """All the results in one Bulk upsert job keyed by tracking key: a run after a lost answer
    (or a job whose end was not seen) updates the records the first one created, never
    duplicates them. Rows that failed stay unlinked, so the next run writes them again."""
    rows = [_csv_row(_result_fields(record, subject)) for record in records]
    outcome = bulk.bulk_upsert(connection, IER, TRACKING_KEY, rows)
    ids = {r.pk: outcome.ids[tracking_key(r)] for r in records if tracking_key(r) in outcome.ids}
    _links_save(audience, [r for r in records if r.pk in ids], ids)
    if outcome.errors:
        key, error = next(iter(outcome.errors.items()))
        logger.warning(
            "%s IndividualEmailResults of send %s not written by Bulk upsert (%s: %s)",
            len(outcome.errors),
            audience.send_id,
            key,
            error,
        )
    return len(ids)


def _csv_row(fields: dict[str, Any], empty: str = "") -> dict[str, str]:
    """A Bulk CSV row: booleans `true`/`false`, no value as `empty` ("" leaves the field
    unset on a create, unchanged on an update; EMPTIED empties it)."""

    def text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return empty if value is None else str(value)

    return {name: text(value) for name, value in fields.items() if name != "attributes"}


def _duplicate(answer: object) -> bool:
    errors = answer.get("errors") if isinstance(answer, dict) else None
    return any(
        isinstance(error, dict) and error.get("statusCode") == "DUPLICATE_VALUE"
        for error in errors or []
    )


def _links_save(audience: CrmAudience, records: Sequence[SendRecord], ids: dict[int, str]) -> None:
    now = timezone.now()
    EmailResultLink.objects.bulk_create(
        [
            EmailResultLink(
                audience=audience,
                record=record,
                tracking_key=tracking_key(record),
                crm_id=ids[record.pk],
                written=tracking_fields(record),
                written_at=now,
            )
            for record in records
        ],
        ignore_conflicts=True,
    )


def _soql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def results_by_tracking_key(connection: CrmConnection, keys: Sequence[str]) -> dict[str, str]:
    """The Ids of IndividualEmailResults already in the CRM, by tracking key (a query is safe
    to repeat, unlike the create whose answer was lost)."""
    if not keys:
        return {}
    quoted = ", ".join(_soql_string(key) for key in keys)
    soql = f"SELECT Id, {TRACKING_KEY} FROM {IER} WHERE {TRACKING_KEY} IN ({quoted})"  # noqa: S608

    def query(client: CrmClient, token: CrmToken) -> CrmResult:
        return client.query(token=token, soql=soql)

    rows = cast(CrmResult, services.crm_call(connection, query)).data.get("records", [])
    return {str(row[TRACKING_KEY]): str(row["Id"]) for row in rows if row.get(TRACKING_KEY)}


def tracking_write(*, account_id: int) -> int:
    """Update the account's IERs whose opens, clicks, bounces or unsubscribes changed: one
    upsert by tracking key each, or one Bulk upsert job for them all when they are at least
    CONNECT_BULK_WRITEBACK_THRESHOLD."""
    connection = _connection(account_id)
    if connection is None:
        return 0
    changed = [
        (link, fields)
        for link in EmailResultLink.objects.filter(audience__account_id=account_id).select_related(
            "record"
        )
        if (fields := tracking_fields(link.record)) != link.written
    ]
    if len(changed) >= settings.CONNECT_BULK_WRITEBACK_THRESHOLD:
        return _tracking_bulk(connection, changed)
    updated = 0
    for link, fields in changed:
        try:  # an upsert by external id: safe to repeat after a lost answer
            services.crm_call(connection, _upsert(link.tracking_key, fields), counted=True)
        except (CrmError, ConnectError) as exc:
            logger.warning("Tracking write-back of account %s paused: %s", account_id, exc)
            break  # the next run writes the differences that are left
        EmailResultLink.objects.filter(pk=link.pk).update(written=fields, written_at=timezone.now())
        updated += 1
    return updated


def _tracking_bulk(
    connection: CrmConnection, changed: list[tuple[EmailResultLink, dict[str, Any]]]
) -> int:
    """The changes as one Bulk upsert by tracking key; a value that became empty is sent as
    `#N/A` (which empties the field, as a REST null does). What failed is sent next run."""
    rows = [
        {TRACKING_KEY: link.tracking_key, **_csv_row(fields, empty=EMPTIED)}
        for link, fields in changed
    ]
    try:
        outcome = bulk.bulk_upsert(connection, IER, TRACKING_KEY, rows)
    except (CrmError, ConnectError) as exc:
        logger.warning("Tracking write-back of account %s paused: %s", connection.account_id, exc)
        return 0
    now = timezone.now()
    done = []
    for link, fields in changed:
        if link.tracking_key in outcome.ids:
            link.written, link.written_at = fields, now
            done.append(link)
    EmailResultLink.objects.bulk_update(done, ["written", "written_at"], batch_size=1000)
    return len(done)


def _upsert(key: str, fields: dict[str, Any]) -> Callable[[CrmClient, CrmToken], CrmResult]:
    def upsert(client: CrmClient, token: CrmToken) -> CrmResult:
        return client.record_upsert(
            token=token, sobject=IER, field=TRACKING_KEY, key=key, fields=fields
        )

    return upsert


def recent_results_write() -> int:
    """Write the results of every CRM-audience send that ended within RECENT and has none
    written yet; sends still running are left alone. Returns how many results were written."""
    send_ids = CrmAudience.objects.filter(
        results_written_at__isnull=True,
        send__status__in=FINAL_SEND_STATUSES,
        send__finished_at__gte=timezone.now() - RECENT,
    ).values_list("send_id", flat=True)
    return sum(send_results_write(send_id=send_id) or 0 for send_id in list(send_ids))


def pending_results_send_ids(account_id: int) -> list[int]:
    """Completed CRM-audience sends whose results are not written yet (catch-up)."""
    return list(
        CrmAudience.objects.filter(
            account_id=account_id,
            results_written_at__isnull=True,
            send__status__in=["completed", "cancelled", "failed"],
        ).values_list("send_id", flat=True)
    )
