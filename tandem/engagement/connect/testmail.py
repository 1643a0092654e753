"""Send Test Email through Connect: recipient from the admin's CRM user, tracking written back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.utils import timezone

from tandem.engagement.accounts.models import User
from tandem.engagement.connect import services
from tandem.engagement.connect.client import CrmClient, CrmError, CrmIdentity, CrmResult, CrmToken
from tandem.engagement.connect.errors import ConnectError
from tandem.engagement.connect.models import ConnectedUser, CrmConnection
from tandem.engagement.sends.models import Send
from tandem.engagement.sends.services import send_test
from tandem.engagement.studio.models import Email

IER = "et4ae5__IndividualEmailResult__c"


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
    """Send `email` to the admin's CRM address and write an IndividualEmailResult back."""
    if email.account_id != connection.account_id:
        raise ConnectError("Choose an email of this account.", "email")
    try:
        identity = _recipient(connection, actor)
    except CrmError as exc:
        raise ConnectError(f"The CRM refused: {exc.message} ({exc.code}).") from exc
    if not identity.email:
        raise ConnectError(f"The CRM user {identity.username} has no email address.")
    send = send_test(actor=actor, email=email, addresses=[identity.email])
    fields: dict[str, Any] = {
        "Name": send.name[:80],
        "et4ae5__Email__c": identity.email,
        "et4ae5__SubjectLine__c": email.subject[:255],
        "et4ae5__JobId__c": str(send.pk),
        "et4ae5__SubscriberKey__c": identity.email,
        "et4ae5__DateSent__c": timezone.now().isoformat(),
        "et4ae5__TrackingKey__c": f"{send.pk}:{identity.email}"[:80],
    }

    def write(client: CrmClient, token: CrmToken) -> CrmResult:
        return client.record_create(token=token, sobject=IER, fields=fields)

    try:
        result = cast(CrmResult, services.crm_call(connection, write))
    except CrmError as exc:
        raise ConnectError(
            f"The email was sent, but tracking was not written: {exc.message}"
        ) from exc
    services._audit(
        connection,
        actor,
        "connect.test_email_sent",
        identity.email,
        None,
        {"send": send.pk, "tracking_id": result.data.get("id")},
    )
    return TestEmailResult(send, identity.email, str(result.data.get("id", "")))
