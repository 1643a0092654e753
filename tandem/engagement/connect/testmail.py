"""Send Test Email through Connect: recipient from the admin's CRM user, tracking written back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django.db import transaction
from django.utils import timezone

from tandem.engagement.accounts.models import User
from tandem.engagement.connect import services
from tandem.engagement.connect.client import CrmClient, CrmError, CrmIdentity, CrmResult, CrmToken
from tandem.engagement.connect.errors import ConnectError
from tandem.engagement.connect.models import (
    AudienceState,
    ConnectedUser,
    CrmAudience,
    CrmConnection,
    EmailResultLink,
)
from tandem.engagement.connect.writeback import (
    IER,
    TRACKING_KEY,
    results_by_tracking_key,
    tracking_fields,
    tracking_key,
)
from tandem.engagement.sends.errors import SendInvalidError
from tandem.engagement.sends.models import Send, SendRecord
from tandem.engagement.sends.services import send_one_now
from tandem.engagement.studio.models import Email


@dataclass(frozen=True)
class TestEmailResult:
    send: Send
    address: str
    tracking_id: str


def _recipient(connection: CrmConnection, actor: User) -> CrmIdentity:
    mapping = ConnectedUser.objects.filter(user=actor).first()
    username = mapping.crm_username if mapping else connection.system_username

    def who(client: CrmClient, token: CrmToken) -> CrmIdentity:
        return client.identity(token=token)

    return cast(CrmIdentity, services.crm_call(connection, who, username=username))


def connect_test_email_send(
    *, actor: User, connection: CrmConnection, email: Email
) -> TestEmailResult:
    """Send `email` to the admin's CRM address and write an IndividualEmailResult back.

    The message is an ordinary one-recipient send (tracked), and its result is linked like a
    CRM-audience send's, so the periodic write-back carries its opens and clicks to the CRM."""
    if email.account_id != connection.account_id:
        raise ConnectError("Choose an email of this account.", "email")
    try:
        identity = _recipient(connection, actor)
    except CrmError as exc:
        raise ConnectError(f"The CRM refused: {exc.message} ({exc.code}).") from exc
    if not identity.email:
        raise ConnectError(f"The CRM user {identity.username} has no email address.")
    try:
        send = send_one_now(
            actor=actor,
            email=email,
            address=identity.email,
            name=f"Connect test email: {email.name}",
        )
    except SendInvalidError as exc:
        raise ConnectError(exc.message, "email") from exc
    record = SendRecord.objects.get(send=send)
    fields: dict[str, Any] = {
        "Name": send.name[:80],
        "et4ae5__Email__c": identity.email,
        "et4ae5__SubjectLine__c": email.subject[:255],
        "et4ae5__JobId__c": str(send.pk),
        "et4ae5__SubscriberKey__c": identity.email,
        "et4ae5__DateSent__c": timezone.now().isoformat(),
        TRACKING_KEY: tracking_key(record),
        **tracking_fields(record),
    }

    def write(client: CrmClient, token: CrmToken) -> CrmResult:
        return client.record_create(token=token, sobject=IER, fields=fields)

    crm_id = _result_write(connection, write, fields[TRACKING_KEY])
    _link(send, record, crm_id)
    services.audit(
        connection,
        actor,
        "connect.test_email_sent",
        identity.email,
        None,
        {"send": send.pk, "tracking_id": crm_id},
    )
    return TestEmailResult(send, identity.email, crm_id)


def _result_write(
    connection: CrmConnection, write: Callable[[CrmClient, CrmToken], CrmResult], key: str
) -> str:
    """Create the result; if the answer was lost or the key is taken, find it by its key."""
    try:
        return str(cast(CrmResult, services.crm_call(connection, write)).data.get("id", ""))
    except CrmError as exc:
        refusal = exc
    try:
        found = results_by_tracking_key(connection, [key]).get(key)
    except CrmError:
        found = None
    if found is None:
        raise ConnectError(
            f"The email was sent, but tracking was not written: {refusal.message}"
        ) from refusal
    return found


@transaction.atomic
def _link(send: Send, record: SendRecord, crm_id: str) -> None:
    """Remember the written result, so later opens and clicks are written to the same one."""
    now = timezone.now()
    audience, _ = CrmAudience.objects.get_or_create(
        send=send,
        defaults={
            "account_id": send.account_id,
            "state": AudienceState.READY,
            "rows": 1,
            "results_written_at": now,
        },
    )
    record.refresh_from_db()
    EmailResultLink.objects.get_or_create(
        record=record,
        defaults={
            "audience": audience,
            "tracking_key": tracking_key(record),
            "crm_id": crm_id,
            "written": tracking_fields(record),
            "written_at": now,
        },
    )
