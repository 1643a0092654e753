"""Services of sends to CRM audiences: read the report, campaign, contacts, leads or SFDE from
the CRM.

The sends admission point asks `availability.crm_audience_admission` about an admitted
CRM-audience send that has no data extension yet: the first time, a `pending` CrmAudience is
recorded and the `engagement.connect.audience_materialize` task queued after commit. That task
re-checks the outage/upgrade state, reads the audience as the system user (outside any
transaction; over REST, or by a Bulk query job for a campaign of more members than
CONNECT_BULK_AUDIENCE_THRESHOLD), writes a sendable data extension (18-character Contact/Lead
Id as subscriber key, email typed EmailAddress, 5-day retention) and calls `send_begin` again,
which now snapshots it like any data-extension send.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, timedelta
from typing import Any, cast

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tandem.core.ids import id18 as _id18
from tandem.engagement.connect import bulk, services
from tandem.engagement.connect.availability import (
    STALE_AFTER,
    Availability,
    connect_availability,
    enqueue_materialize_later,
)
from tandem.engagement.connect.client import (
    TRANSIENT_STATUSES,
    CrmClient,
    CrmError,
    CrmResult,
    CrmToken,
)
from tandem.engagement.connect.errors import ConnectError
from tandem.engagement.connect.models import AudienceState, CrmAudience, CrmConnection
from tandem.engagement.data.models import (
    DataExtension,
    DataExtensionField,
    DataExtensionRow,
    FieldType,
)
from tandem.engagement.sends.models import AudienceKind, Send, SendStatus

RETENTION = timedelta(days=5)
# The CRM did not answer: read again CONNECT_AUDIENCE_RETRY_SECONDS later, for this long
# after the send was admitted.
READ_RETRY_FOR = timedelta(hours=1)
UNREACHABLE = "unreachable"  # the client's code for a CRM that did not answer
KEY, EMAIL = "SubscriberKey", "EmailAddress"
COLUMNS = (
    (KEY, FieldType.TEXT),
    (EMAIL, FieldType.EMAIL_ADDRESS),
    ("FirstName", FieldType.TEXT),
    ("LastName", FieldType.TEXT),
    ("ObjectType", FieldType.TEXT),
    ("CampaignMemberId", FieldType.TEXT),
)
CONTACT_PREFIX, LEAD_PREFIX = "003", "00Q"
BOOLEAN_FIELDS = frozenset({"HasOptedOutOfEmail"})
CAMPAIGN_MEMBERS = (
    "SELECT Id, ContactId, LeadId, Contact.Email, Contact.FirstName, Contact.LastName, "
    "Contact.HasOptedOutOfEmail, Lead.Email, Lead.FirstName, Lead.LastName, "
    "Lead.HasOptedOutOfEmail FROM CampaignMember WHERE CampaignId = '{}'"
)


class AudienceError(Exception):
    """The audience cannot be read; the message is shown on the failed send."""


@dataclass(frozen=True)
class Person:
    """One recipient read from the CRM."""

    crm_id: str
    email: str
    first_name: str = ""
    last_name: str = ""
    member_id: str = ""
    opted_out: bool = False  # HasOptedOutOfEmail: never sent to

    @property
    def object_type(self) -> str:
        return "Lead" if self.crm_id.startswith(LEAD_PREFIX) else "Contact"


def id18(value: str) -> str:
    """Salesforce's 18-character, case-safe form of a 15- or 18-character record Id."""
    try:
        return _id18(value)
    except ValueError as exc:
        raise AudienceError(f"{value.strip()!r} is not a Salesforce record Id.") from exc


# --- Materializing -----------------------------------------------------------------------


def audience_materialize(*, send_id: int) -> Send | None:
    """Read the send's CRM audience into a data extension, then begin the send; idempotent."""
    from tandem.engagement.sends.services import send_begin

    send = Send.objects.filter(pk=send_id).first()
    if send is None or send.status not in (SendStatus.SCHEDULED, SendStatus.HELD):
        return None
    now = timezone.now()
    claimable = Q(state=AudienceState.PENDING) | Q(
        state=AudienceState.READING, updated_at__lt=now - STALE_AFTER
    )
    claimed = (
        CrmAudience.objects.filter(claimable, send_id=send_id)
        .exclude(send__data_extension__isnull=False)
        .update(state=AudienceState.READING, updated_at=now)
    )
    if not claimed:  # read already (begin is idempotent), or another worker is reading
        reading = CrmAudience.objects.filter(send_id=send_id, state=AudienceState.READING)
        return None if reading.exists() else send_begin(send_id=send_id)
    if connect_availability(send.account_id) is not Availability.AVAILABLE:
        # The upgrade or an outage began since admission: send_begin fails or holds the send.
        CrmAudience.objects.filter(send_id=send_id).delete()
        return send_begin(send_id=send_id)
    if send.audience_kind == AudienceKind.SYNCHRONIZED_DATA_EXTENSION:
        _synchronized(send)  # read from the synchronized copy, not the CRM
        return send_begin(send_id=send_id)
    try:
        people = audience_read(send)
    except (AudienceError, ConnectError) as exc:
        _fail(send_id, str(exc))
    except CrmError as exc:
        if _read_later(send, exc):
            return None
        _fail(send_id, f"The CRM refused to give the audience: {exc.message} ({exc.code})")
    else:
        _materialize(send, people)
    return send_begin(send_id=send_id)


def _fail(send_id: int, reason: str) -> None:
    CrmAudience.objects.filter(send_id=send_id).update(
        state=AudienceState.FAILED, failure_reason=reason
    )


def _read_later(send: Send, exc: CrmError) -> bool:
    """The CRM did not answer (down, restarting, its database full: 502/503/504): the send
    waits, saying why, and the read starts again CONNECT_AUDIENCE_RETRY_SECONDS later, for
    READ_RETRY_FOR after the send was admitted. Nothing was stored from the partial read.
    False when the error is not transient or the time is up (the send then fails with the
    CRM's reason)."""
    if exc.code != UNREACHABLE and exc.status not in TRANSIENT_STATUSES:
        return False
    audience = CrmAudience.objects.get(send_id=send.pk)
    until = audience.created_at + READ_RETRY_FOR
    if timezone.now() >= until:
        return False
    seconds = settings.CONNECT_AUDIENCE_RETRY_SECONDS
    reason = (
        f"Waiting for the CRM to give the audience: {exc.message} ({exc.code}). Connect tries "
        f"again every {seconds} s until {until.astimezone(UTC):%Y-%m-%d %H:%M} UTC."
    )
    CrmAudience.objects.filter(pk=audience.pk).update(
        state=AudienceState.PENDING, failure_reason=reason, updated_at=timezone.now()
    )
    Send.objects.filter(pk=send.pk, status=send.status).update(failure_reason=reason)
    enqueue_materialize_later(send.pk, seconds)
    return True


@transaction.atomic
def _materialize(send: Send, people: list[Person]) -> DataExtension | None:
    now = timezone.now()
    if Send.objects.select_for_update().get(pk=send.pk).data_extension_id is not None:
        return None  # a stale reader's late twin got here first
    data_extension = DataExtension.objects.create(
        account_id=send.account_id,
        name=f"CRM {send.get_audience_kind_display()} {send.audience_ref[:60]} (send {send.pk})",
        is_sendable=True,
        subscriber_key_field=KEY,
        email_field=EMAIL,
    )
    DataExtensionField.objects.bulk_create(
        DataExtensionField(
            data_extension=data_extension,
            name=name,
            field_type=kind,
            is_primary_key=name == KEY,
            is_required=name == KEY,
            ordinal=ordinal,
        )
        for ordinal, (name, kind) in enumerate(COLUMNS)
    )
    DataExtensionRow.objects.bulk_create(
        (
            DataExtensionRow(data_extension=data_extension, key=person.crm_id, values=_row(person))
            for person in _unique(people)
        ),
        batch_size=1000,
    )
    CrmAudience.objects.filter(send_id=send.pk).update(
        state=AudienceState.READY,
        data_extension=data_extension,
        rows=len(_unique(people)),
        expires_at=now + RETENTION,
        updated_at=now,
    )
    Send.objects.filter(pk=send.pk, data_extension__isnull=True).update(
        data_extension=data_extension
    )
    return data_extension


def _synchronized(send: Send) -> None:
    """A synchronized (or filtered) data extension's matching rows, copied now for the send."""
    from tandem.engagement.syncs.errors import SyncError
    from tandem.engagement.syncs.filters import audience_copy

    now = timezone.now()
    try:
        with transaction.atomic():
            if Send.objects.select_for_update().get(pk=send.pk).data_extension_id is not None:
                return
            data_extension, rows = audience_copy(
                account_id=send.account_id,
                name=send.audience_ref,
                copy_name=f"CRM {send.get_audience_kind_display()} {send.audience_ref[:60]} "
                f"(send {send.pk})",
            )
            CrmAudience.objects.filter(send_id=send.pk).update(
                state=AudienceState.READY,
                data_extension=data_extension,
                rows=rows,
                expires_at=now + RETENTION,
                updated_at=now,
            )
            Send.objects.filter(pk=send.pk).update(data_extension=data_extension)
    except SyncError as exc:
        _fail(send.pk, exc.message)


def _unique(people: Iterable[Person]) -> list[Person]:
    seen: dict[str, Person] = {}
    for person in people:
        seen.setdefault(person.crm_id, person)
    return list(seen.values())


def _row(person: Person) -> dict[str, str]:
    return {
        KEY: person.crm_id,
        EMAIL: person.email,
        "FirstName": person.first_name,
        "LastName": person.last_name,
        "ObjectType": person.object_type,
        "CampaignMemberId": person.member_id,
    }


def audience_purge_expired() -> int:
    """Empty the data extensions of CRM audiences past their 5-day retention."""
    now = timezone.now()
    purged = 0
    for audience in CrmAudience.objects.filter(
        expires_at__lte=now, purged_at__isnull=True, data_extension__isnull=False
    ):
        with transaction.atomic():
            DataExtensionRow.objects.filter(data_extension_id=audience.data_extension_id).delete()
            CrmAudience.objects.filter(pk=audience.pk).update(purged_at=now)
        purged += 1
    return purged


# --- Reading from the CRM (system user; REST reads through the connected app) --------------


def audience_read(send: Send) -> list[Person]:
    """The recipients of the send's CRM audience, read over REST as the system user, without
    the contacts and leads that opted out of email (HasOptedOutOfEmail)."""
    return [person for person in _audience(send) if not person.opted_out]


def _audience(send: Send) -> list[Person]:
    connection = CrmConnection.objects.filter(account_id=send.account_id).first()
    if connection is None:
        raise AudienceError("Marketing Cloud Connect is not set up for this account.")
    ref = send.audience_ref.strip()
    kind = send.audience_kind
    if kind == AudienceKind.CAMPAIGN:
        return _campaign(connection, id18(ref))
    if kind == AudienceKind.REPORT:
        return _report(connection, id18(ref))
    if kind in (AudienceKind.CONTACT, AudienceKind.LEAD):
        return _people(connection, [id18(part) for part in re.split(r"[\s,;]+", ref) if part])
    if kind == AudienceKind.SALESFORCE_DATA_EXTENSION:
        return _salesforce_data_extension(connection, send.account_id, ref)
    raise AudienceError(f"{kind} is not an audience from the CRM.")


def _query(
    connection: CrmConnection, soql: str, *, bulk_over: int | None = None
) -> Iterator[dict[str, Any]]:
    """The query's records over REST, page by page; when `bulk_over` is given and the first
    page says there are more records than that, read by a Bulk query job instead (the first
    page is all the REST API is asked for)."""

    def first(client: CrmClient, token: CrmToken) -> CrmResult:
        return client.query(token=token, soql=soql)

    result = cast(CrmResult, services.crm_call(connection, first))
    if bulk_over is not None and int(result.data.get("totalSize") or 0) > bulk_over:
        yield from (_nested(row) for row in bulk.bulk_query(connection, soql))
        return
    while True:
        yield from result.data.get("records", [])
        next_url = result.data.get("nextRecordsUrl")
        if result.data.get("done", True) or not next_url:
            return

        def more(client: CrmClient, token: CrmToken, url: str = str(next_url)) -> CrmResult:
            return client.query_more(token=token, next_url=url)

        result = cast(CrmResult, services.crm_call(connection, more))


def _nested(row: dict[str, str]) -> dict[str, Any]:
    """A Bulk result row in the REST API's shape: `Contact.Email` under `Contact`, an empty
    value as None, the opt-out flag as a boolean."""
    nested: dict[str, Any] = {}
    for column, text in row.items():
        *parents, name = column.split(".")
        target = nested
        for parent in parents:
            target = target.setdefault(parent, {})
        target[name] = None if text == "" else text == "true" if name in BOOLEAN_FIELDS else text
    return nested


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _campaign(connection: CrmConnection, campaign_id: str) -> list[Person]:
    soql = CAMPAIGN_MEMBERS.format(campaign_id)  # an Id checked by id18
    people = []
    bulk_over = settings.CONNECT_BULK_AUDIENCE_THRESHOLD
    for row in _query(connection, soql, bulk_over=bulk_over):
        parent = "Contact" if row.get("ContactId") else "Lead"
        crm_id, person = row.get(f"{parent}Id"), row.get(parent) or {}
        if not crm_id:
            continue
        people.append(
            Person(
                crm_id=id18(str(crm_id)),
                email=_text(person.get("Email")),
                first_name=_text(person.get("FirstName")),
                last_name=_text(person.get("LastName")),
                member_id=_text(row.get("Id")),
                opted_out=person.get("HasOptedOutOfEmail") is True,
            )
        )
    return people


def _people(connection: CrmConnection, ids: list[str]) -> list[Person]:
    if not ids:
        raise AudienceError("Name at least one contact or lead Id.")
    if any(not i.startswith((CONTACT_PREFIX, LEAD_PREFIX)) for i in ids):
        raise AudienceError("Only Contact and Lead Ids can be an audience.")
    people: list[Person] = []
    for sobject, prefix in (("Contact", CONTACT_PREFIX), ("Lead", LEAD_PREFIX)):
        wanted = sorted({i for i in ids if i.startswith(prefix)})
        for start in range(0, len(wanted), 200):
            quoted = ", ".join(f"'{i}'" for i in wanted[start : start + 200])
            # Every Id was checked by id18: letters and digits only.
            soql = (
                "SELECT Id, Email, FirstName, LastName, HasOptedOutOfEmail "  # noqa: S608
                f"FROM {sobject} WHERE Id IN ({quoted})"
            )
            people.extend(
                Person(
                    crm_id=id18(str(row["Id"])),
                    email=_text(row.get("Email")),
                    first_name=_text(row.get("FirstName")),
                    last_name=_text(row.get("LastName")),
                    opted_out=row.get("HasOptedOutOfEmail") is True,
                )
                for row in _query(connection, soql)
            )
    return people


def _report(connection: CrmConnection, report_id: str) -> list[Person]:
    def run(client: CrmClient, token: CrmToken) -> CrmResult:
        return client.report_run(token=token, report_id=report_id)

    data = cast(CrmResult, services.crm_call(connection, run)).data
    metadata = data.get("reportMetadata", {})
    columns: list[str] = list(metadata.get("detailColumns", []))
    labels = data.get("reportExtendedMetadata", {}).get("detailColumnInfo", {})
    id_column = _report_id_column(columns, labels)
    email_column = next(
        (c for c in columns if labels.get(c, {}).get("dataType") == "email"),
        next((c for c in columns if c.rsplit(".", 1)[-1] == "Email"), None),
    )
    if email_column is None:
        raise AudienceError("The report has no email column; add one to send to it.")
    rows = data.get("factMap", {}).get("T!T", {}).get("rows", [])
    people = []
    for row in rows:
        cells: dict[str | None, Any] = {
            c: cell.get("value") for c, cell in zip(columns, row.get("dataCells", []), strict=False)
        }
        crm_id = _text(cells.get(id_column))
        if not crm_id:
            continue
        people.append(
            Person(
                crm_id=id18(crm_id),
                email=_text(cells.get(email_column)),
                first_name=_text(cells.get(_column(columns, "FirstName"))),
                last_name=_text(cells.get(_column(columns, "LastName"))),
            )
        )
    return _with_opt_outs(connection, people)


def _with_opt_outs(connection: CrmConnection, people: list[Person]) -> list[Person]:
    """A report's people, marked from their records: a report need not show the opt-out."""
    ids = [p.crm_id for p in people if p.crm_id.startswith((CONTACT_PREFIX, LEAD_PREFIX))]
    if not ids:
        return people
    opted_out = {p.crm_id for p in _people(connection, ids) if p.opted_out}
    return [replace(person, opted_out=person.crm_id in opted_out) for person in people]


def _column(columns: list[str], name: str) -> str | None:
    return next((c for c in columns if c.rsplit(".", 1)[-1] == name), None)


def _report_id_column(columns: list[str], labels: dict[str, Any]) -> str:
    """The Contact ID or Lead ID column (converted 15 → 18); a bare "ID" column is refused."""
    for column in columns:
        label = str(labels.get(column, {}).get("label", "")).strip().lower()
        if label in ("contact id", "lead id") or column in ("Id", "ContactId", "LeadId"):
            return column
    raise AudienceError(
        "The report needs a Contact ID or Lead ID column: it becomes the subscriber key."
    )


def _salesforce_data_extension(
    connection: CrmConnection, account_id: int, name: str
) -> list[Person]:
    """An SFDE: a data extension of Contact/Lead Ids; current values are read from the CRM."""
    data_extension = DataExtension.objects.filter(account_id=account_id, name=name).first()
    if data_extension is None:
        raise AudienceError(f"There is no data extension named {name!r}.")
    ids = [
        id18(key)
        for key in DataExtensionRow.objects.filter(data_extension=data_extension).values_list(
            "key", flat=True
        )
    ]
    return _people(connection, ids)
