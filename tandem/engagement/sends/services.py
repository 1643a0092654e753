"""Writes of the sends app: create, schedule, start, pause, resume, cancel, test, track."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from urllib.parse import quote

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.data.models import DataExtension, DataExtensionRow
from tandem.engagement.sends import queue
from tandem.engagement.sends.admission import Verdict, send_admission
from tandem.engagement.sends.errors import SendInvalidError, SendStateError
from tandem.engagement.sends.message import (
    BUILTIN_FIELDS,
    RESERVED_PREFIX,
    compile_email,
    track_links,
)
from tandem.engagement.sends.models import (
    AudienceKind,
    Send,
    SendEvent,
    SendRecord,
    SendStatus,
    Suppression,
    TrackingEvent,
    TrackingKind,
)
from tandem.engagement.sends.pipeline import send_deliver
from tandem.engagement.sends.snapshot import address_problem, snapshot_audience
from tandem.engagement.studio.models import Email
from tandem.engagement.studio.personalization import PersonalizationError, compile_template

MAX_TEST_ADDRESSES = 5
MAX_RATE = 100_000
SYSTEM = "system"


def _label(actor: User | None, fallback: str) -> str:
    return actor.get_username() if actor is not None else fallback


def _audit(send: Send, actor: str, action: str, old: object, new: object) -> None:
    SendEvent.objects.create(
        account_id=send.account_id,
        send=send,
        actor_label=actor,
        action=action,
        section="sends",
        target=send.name,
        old_value=old,
        new_value=new,
    )


def email_fields(email: Email) -> frozenset[str]:
    """Every personalization name the email uses (links included); raises SendInvalidError."""
    try:
        subject, text, rich = compile_email(email)
        _tracked, links = track_links(email.html_body)
        link_fields = [compile_template(link, html=False).fields for link in links]
    except PersonalizationError as exc:
        raise SendInvalidError(f"The email {email.name!r} has a {exc}", field="email") from exc
    return frozenset().union(subject.fields, text.fields, rich.fields, *link_fields)


def _check_fields(email: Email, data_extension: DataExtension) -> frozenset[str]:
    fields = email_fields(email)
    columns = {name.casefold() for name in data_extension.fields.values_list("name", flat=True)}
    for name in sorted(fields):
        folded = name.casefold()
        if folded.startswith(RESERVED_PREFIX):
            raise SendInvalidError(f"%%{name}%% is reserved", field="email")
        if folded not in columns and folded not in BUILTIN_FIELDS:
            raise SendInvalidError(
                f"%%{name}%% in the email is not a column of {data_extension.name!r}",
                field="email",
            )
    return fields


@transaction.atomic
def send_create(
    *,
    actor: User | None,
    account: Account,
    name: str,
    email: Email,
    data_extension: DataExtension | None = None,
    audience_kind: str = AudienceKind.DATA_EXTENSION,
    audience_ref: str = "",
    actor_label: str = "",
    max_per_second: int | None = None,
) -> Send:
    """A draft send of `email` to an audience of `account`."""
    name = name.strip()
    if not name:
        raise SendInvalidError("Give the send a name.", field="name")
    if max_per_second is not None and not 1 <= max_per_second <= MAX_RATE:
        raise SendInvalidError(
            f"Choose a rate from 1 to {MAX_RATE} messages a second, or none.",
            field="max_per_second",
        )
    if email.account_id != account.id:
        raise SendInvalidError("Choose an email of this account.", field="email")
    if audience_kind == AudienceKind.DATA_EXTENSION:
        _check_audience(account, email, data_extension)
    elif audience_kind not in AudienceKind.values or not audience_ref.strip():
        raise SendInvalidError("Choose an audience.", field="audience_ref")
    send = Send.objects.create(
        account=account,
        name=name,
        email=email,
        audience_kind=audience_kind,
        data_extension=data_extension if audience_kind == AudienceKind.DATA_EXTENSION else None,
        audience_ref=audience_ref.strip(),
        created_by=actor,
        max_per_second=max_per_second,
    )
    _audit(send, _label(actor, actor_label or SYSTEM), "send.created", None, _summary(send))
    return send


def _check_audience(account: Account, email: Email, data_extension: DataExtension | None) -> None:
    if data_extension is None or data_extension.account_id != account.id:
        raise SendInvalidError("Choose a data extension of this account.", field="data_extension")
    if not data_extension.is_sendable or not data_extension.email_field:
        raise SendInvalidError(
            f"The data extension {data_extension.name!r} is not sendable: mark it sendable "
            "and choose its subscriber key and email address fields.",
            field="data_extension",
        )
    _check_fields(email, data_extension)


def _summary(send: Send) -> dict[str, object]:
    return {
        "name": send.name,
        "email": send.email.name,
        "audience_kind": send.audience_kind,
        "data_extension": send.data_extension.name if send.data_extension else None,
        "audience_ref": send.audience_ref,
        "max_per_second": send.max_per_second,
    }


@transaction.atomic
def send_schedule(
    *, actor: User | None, send: Send, at: datetime | None = None, actor_label: str = ""
) -> Send:
    """Start `send` now, or at `at`; a draft only."""
    send = Send.objects.select_for_update().get(pk=send.pk)
    if send.status != SendStatus.DRAFT:
        raise SendStateError(
            f"The send is {send.get_status_display().lower()}; only a draft can start."
        )
    now = timezone.now()
    if at is not None and at < now:
        raise SendInvalidError("Choose a time in the future, or start now.", field="scheduled_at")
    send.status = SendStatus.SCHEDULED
    send.scheduled_at = at or now
    send.save(update_fields=["status", "scheduled_at"])
    _audit(
        send,
        _label(actor, actor_label or SYSTEM),
        "send.scheduled",
        {"status": "draft"},
        {"status": "scheduled", "at": send.scheduled_at.isoformat()},
    )
    send_id, eta = send.id, send.scheduled_at if at else None
    transaction.on_commit(lambda: queue.enqueue_begin(send_id, eta=eta))
    return send


def send_begin(*, send_id: int) -> Send | None:
    """Admit, snapshot and start a scheduled send whose time has come; idempotent."""
    with transaction.atomic():
        send = Send.objects.select_for_update().select_related("email").filter(pk=send_id).first()
        if send is None or send.status not in (SendStatus.SCHEDULED, SendStatus.HELD):
            return None
        if send.scheduled_at and send.scheduled_at > timezone.now():
            return None
        admission = send_admission(send)
        if admission.verdict is Verdict.WAIT:  # Connect materializes the CRM audience first
            return send
        if admission.verdict is not Verdict.ADMIT:
            return _refuse_or_hold(send, admission.verdict, admission.reason)
        _start(send)
    queue.enqueue_deliveries(send.id)
    return send


def _refuse_or_hold(send: Send, verdict: Verdict, reason: str) -> Send:
    old = send.status
    send.status = SendStatus.FAILED if verdict is Verdict.REFUSE else SendStatus.HELD
    send.failure_reason = reason
    if send.status == SendStatus.FAILED:
        send.finished_at = timezone.now()
    send.save(update_fields=["status", "failure_reason", "finished_at"])
    _audit(
        send,
        SYSTEM,
        f"send.{verdict.value}d" if verdict is Verdict.REFUSE else "send.held",
        {"status": old},
        {"status": send.status, "reason": reason},
    )
    return send


def _start(send: Send) -> None:
    fields = email_fields(send.email)
    _tracked, links = track_links(send.email.html_body)
    summary = snapshot_audience(send=send, fields=fields)
    send.status = SendStatus.RUNNING
    send.started_at = timezone.now()
    send.failure_reason = ""
    send.links = list(links)
    send.audience_rows = summary.rows
    send.duplicates_skipped = summary.duplicates
    send.suppressed_skipped = summary.suppressed
    send.save()
    _audit(
        send,
        SYSTEM,
        "send.started",
        {"status": SendStatus.SCHEDULED},
        {
            "status": SendStatus.RUNNING,
            "records": summary.records,
            "duplicates": summary.duplicates,
            "suppressed": summary.suppressed,
            "invalid_addresses": summary.invalid,
        },
    )


def _transition(
    *, actor: User | None, send: Send, allowed: Sequence[str], to: str, action: str, label: str
) -> Send:
    send = Send.objects.select_for_update().get(pk=send.pk)
    if send.status not in allowed:
        verb = action.rpartition(".")[2]
        raise SendStateError(f"A {send.get_status_display().lower()} send cannot be {verb}.")
    old = send.status
    send.status = to
    if to == SendStatus.CANCELLED:
        send.finished_at = timezone.now()
    if to == SendStatus.RUNNING:
        send.failure_reason = ""
        send.consecutive_failed_batches = 0
    send.save(
        update_fields=["status", "finished_at", "failure_reason", "consecutive_failed_batches"]
    )
    _audit(send, _label(actor, label or SYSTEM), action, {"status": old}, {"status": to})
    return send


@transaction.atomic
def send_pause(*, actor: User | None, send: Send, actor_label: str = "") -> Send:
    """Stop claiming new batches; batches in flight finish."""
    return _transition(
        actor=actor,
        send=send,
        allowed=[SendStatus.RUNNING],
        to=SendStatus.PAUSED,
        action="send.paused",
        label=actor_label,
    )


@transaction.atomic
def send_resume(*, actor: User | None, send: Send, actor_label: str = "") -> Send:
    """Continue a paused send where it stopped."""
    send = _transition(
        actor=actor,
        send=send,
        allowed=[SendStatus.PAUSED],
        to=SendStatus.RUNNING,
        action="send.resumed",
        label=actor_label,
    )
    send_id = send.id
    transaction.on_commit(lambda: queue.enqueue_deliveries(send_id))
    return send


@transaction.atomic
def send_cancel(*, actor: User | None, send: Send, actor_label: str = "") -> Send:
    """Stop for good; queued recipients are not sent."""
    allowed = [
        SendStatus.DRAFT,
        SendStatus.SCHEDULED,
        SendStatus.HELD,
        SendStatus.RUNNING,
        SendStatus.PAUSED,
    ]
    return _transition(
        actor=actor,
        send=send,
        allowed=allowed,
        to=SendStatus.CANCELLED,
        action="send.cancelled",
        label=actor_label,
    )


def parse_addresses(text: str) -> list[str]:
    """Addresses separated by commas, semicolons or whitespace, each checked, without repeats."""
    found = [
        address
        for raw in text.replace(";", ",").replace("\n", ",").split(",")
        for address in raw.split()
    ]
    return check_test_addresses(found)


def check_test_addresses(addresses: Sequence[str]) -> list[str]:
    """One to five valid addresses, repeats dropped; raises SendInvalidError naming the problem."""
    found: list[str] = []
    for address in addresses:
        if problem := address_problem(address):
            raise SendInvalidError(problem[0].upper() + problem[1:] + ".", field="addresses")
        if address.lower() not in (a.lower() for a in found):
            found.append(address)
    if not found:
        raise SendInvalidError("Enter at least one address.", field="addresses")
    if len(found) > MAX_TEST_ADDRESSES:
        raise SendInvalidError(
            f"A test send goes to at most {MAX_TEST_ADDRESSES} addresses.", field="addresses"
        )
    return found


def send_test_create(
    *,
    actor: User | None,
    email: Email,
    addresses: Sequence[str],
    values: Mapping[str, str] | None = None,
    actor_label: str = "",
    of_send: Send | None = None,
) -> Send:
    """A running test send of `email` to `addresses`, personalized with `values`."""
    email_fields(email)
    addresses = check_test_addresses(addresses)
    with transaction.atomic():
        send = Send.objects.create(
            account_id=email.account_id,
            email=email,
            data_extension=of_send.data_extension if of_send else None,
            is_test=True,
            created_by=actor,
            name=f"Test send of {of_send.name if of_send else email.name}",
            status=SendStatus.RUNNING,
            started_at=timezone.now(),
            scheduled_at=timezone.now(),
        )
        SendRecord.objects.bulk_create(
            SendRecord(send=send, subscriber_key=address, email=address, values=dict(values or {}))
            for address in addresses
        )
        details: dict[str, object] = {"email": email.name, "addresses": list(addresses)}
        if of_send is not None:
            details |= {"of_send": of_send.id, "row": (values or {}).get("subscriberkey", "")}
        _audit(send, _label(actor, actor_label or SYSTEM), "send.test_sent", None, details)
    return send


def send_test(
    *,
    actor: User | None,
    email: Email,
    addresses: Sequence[str],
    values: Mapping[str, str] | None = None,
    actor_label: str = "",
    of_send: Send | None = None,
) -> Send:
    """Send `email` now to up to five addresses, marked as a test, through the one delivery path."""
    send = send_test_create(
        actor=actor,
        email=email,
        addresses=addresses,
        values=values,
        actor_label=actor_label,
        of_send=of_send,
    )
    send_deliver(send_id=send.id)
    send.refresh_from_db()
    return send


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def send_one_now(*, actor: User | None, email: Email, address: str, name: str) -> Send:
    """Send `email` now to one address as an ordinary send (no data extension, not a test):
    tracked like any send, so its opens and clicks count. Connect's Send Test Email uses it."""
    email_fields(email)
    (address,) = check_test_addresses([address])
    now = timezone.now()
    _tracked, links = track_links(email.html_body)
    with transaction.atomic():
        send = Send.objects.create(
            account_id=email.account_id,
            email=email,
            created_by=actor,
            name=name[:200],
            status=SendStatus.RUNNING,
            started_at=now,
            scheduled_at=now,
            links=list(links),
            audience_rows=1,
        )
        SendRecord.objects.create(send=send, subscriber_key=address, email=address)
        _audit(send, _label(actor, SYSTEM), "send.started", None, {"address": address})
    send_deliver(send_id=send.id)
    send.refresh_from_db()
    return send


def send_test_values(*, send: Send, row_key: str | None = None) -> dict[str, str]:
    """The values of a row of `send`'s data extension (the first row by default)."""
    if send.data_extension is None:
        raise SendInvalidError("This send has no data extension to take a row from.", field="row")
    rows = DataExtensionRow.objects.filter(data_extension=send.data_extension)
    row = rows.filter(key=row_key).first() if row_key else rows.order_by("id").first()
    if row is None:
        if row_key:
            raise SendInvalidError(
                f"{send.data_extension.name!r} has no row with the key {row_key!r}.", field="row"
            )
        return {}
    values = {name: _text(value) for name, value in row.values.items()}
    key_field = send.data_extension.subscriber_key_field
    values["subscriberkey"] = values.get(key_field, "") if key_field else row.key
    values["subscriberkey"] = values["subscriberkey"] or row.key
    return values


def send_test_of_send(
    *,
    actor: User | None,
    send: Send,
    addresses: Sequence[str],
    row_key: str | None = None,
    actor_label: str = "",
) -> Send:
    """Test `send`'s email on up to five addresses, personalized as one row of its audience."""
    if send.is_test:
        raise SendInvalidError("Choose a send, not a test send.", field="addresses")
    addresses = check_test_addresses(addresses)
    values = send_test_values(send=send, row_key=row_key)
    return send_test(
        actor=actor,
        email=send.email,
        addresses=addresses,
        values=values,
        actor_label=actor_label,
        of_send=send,
    )


# --- Tracking (public endpoints; records of test sends are never counted) -------------------


def _trackable(record_id: int) -> SendRecord | None:
    record = SendRecord.objects.select_related("send").filter(pk=record_id).first()
    if record is None or record.send.is_test:
        return None
    return record


@transaction.atomic
def tracking_open(*, record_id: int, user_agent: str) -> None:
    """Count an open of the message."""
    record = _trackable(record_id)
    if record is None:
        return
    now = timezone.now()
    SendRecord.objects.filter(pk=record.pk).update(open_count=F("open_count") + 1)
    SendRecord.objects.filter(pk=record.pk, first_opened_at__isnull=True).update(
        first_opened_at=now
    )
    TrackingEvent.objects.create(record=record, kind=TrackingKind.OPEN, user_agent=user_agent[:300])


def tracking_click(*, record_id: int, link_index: int, user_agent: str) -> str | None:
    """Count a click and return the link's URL for this recipient; None if there is no such link."""
    record = SendRecord.objects.select_related("send").filter(pk=record_id).first()
    if record is None or not 0 <= link_index < len(record.send.links):
        return None
    url = _link_url(record, link_index)
    if record.send.is_test:
        return url
    with transaction.atomic():
        now = timezone.now()
        SendRecord.objects.filter(pk=record.pk).update(click_count=F("click_count") + 1)
        SendRecord.objects.filter(pk=record.pk, first_clicked_at__isnull=True).update(
            first_clicked_at=now
        )
        TrackingEvent.objects.create(
            record=record, kind=TrackingKind.CLICK, url=url, user_agent=user_agent[:300]
        )
    return url


def _link_url(record: SendRecord, link_index: int) -> str:
    template = compile_template(record.send.links[link_index], html=False)
    values = {key: quote(str(value), safe="") for key, value in record.values.items()}
    values.setdefault("emailaddr", quote(record.email, safe="@"))
    values.setdefault("subscriberkey", quote(record.subscriber_key, safe=""))
    return template.render(values)


@transaction.atomic
def tracking_unsubscribe(*, record_id: int, user_agent: str) -> bool:
    """Unsubscribe the recipient from the account's sends (RFC 8058 one-click); idempotent."""
    record = _trackable(record_id)
    if record is None:
        return SendRecord.objects.filter(pk=record_id).exists()
    now = timezone.now()
    changed = SendRecord.objects.filter(pk=record.pk, unsubscribed_at__isnull=True).update(
        unsubscribed_at=now
    )
    if changed:
        TrackingEvent.objects.create(
            record=record, kind=TrackingKind.UNSUBSCRIBE, user_agent=user_agent[:300]
        )
    try:
        with transaction.atomic():
            Suppression.objects.get_or_create(
                account_id=record.send.account_id,
                subscriber_key=record.subscriber_key,
                defaults={"record": record, "reason": "unsubscribed"},
            )
    except IntegrityError:
        pass
    return True
