"""Auto-connection of previously connected users within the 14-day window.

One attempt (JWT bearer for the mapped CRM username, the identity's org checked) records its
outcome only while the account is still Connected App and the user still waits. The window is
open from the upgrade until `window_ends_at`, exclusive; closing it ends every waiting user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from django.conf import settings
from django.db import connection as db
from django.db import transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from tandem.engagement.connect.client import CrmClient, CrmError
from tandem.engagement.connect.models import (
    ConnectedUser,
    ConnectionState,
    CrmConnection,
    UserConnectionState,
)
from tandem.engagement.connect.services.records import audit, usage_record_many
from tandem.engagement.connect.services.seam import crm_client, jwt_token, token_org_and_user


def migration_lease() -> timedelta:
    """How long Migrate Existing Users holds the account without renewing its claim: a run
    renews it as it goes, so only a run whose process died lets it lapse."""
    return timedelta(seconds=settings.CONNECT_MIGRATION_LEASE_SECONDS)


# Users still waiting for auto-connection (LEGACY: the upgrade completed without a migration).
WAITING = (UserConnectionState.PENDING, UserConnectionState.LEGACY)


@dataclass(frozen=True)
class MigrationRow:
    """One user's attempt, as the CSV files and the results popup show it."""

    engagement_username: str
    crm_username: str
    crm_user_id: str
    status: str
    error_code: str
    error_message: str
    attempted_at: str


def _now_iso() -> str:
    return timezone.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Attempt:
    """One JWT bearer login and identity check, before anything is recorded."""

    mapping: ConnectedUser
    attempted_at: str
    user_id: str = ""  # the CRM's user id, on success
    error: CrmError | None = None


def user_attempt(
    *, connection: CrmConnection, mapping: ConnectedUser, client: CrmClient
) -> Attempt:
    """JWT bearer for the mapped CRM username, then the identity's org. Only the CRM is
    called, never the database, so Migrate Existing Users runs these in worker threads."""
    attempted = _now_iso()
    try:
        token = jwt_token(connection, mapping.crm_username, client)
        org_id, user_id = token_org_and_user(token, client)
        if not org_id or org_id != connection.org_id:
            raise CrmError(
                "org_mismatch",
                f"the CRM user belongs to org {org_id or '(unknown)'}, "
                f"not to the connected org {connection.org_id}",
            )
    except CrmError as exc:
        return Attempt(mapping, attempted, error=exc)
    return Attempt(mapping, attempted, user_id=user_id)


def user_connect_attempt(
    *, connection: CrmConnection, mapping: ConnectedUser, client: CrmClient
) -> MigrationRow:
    """JWT bearer for the mapped CRM username; the mapping records the outcome."""
    attempt = user_attempt(connection=connection, mapping=mapping, client=client)
    return attempts_record(connection, [attempt])[0]


@transaction.atomic
def attempts_record(connection: CrmConnection, attempts: list[Attempt]) -> list[MigrationRow]:
    """Record the outcomes in a few statements whatever their number: the usage of the
    successes, one conditional UPDATE for them and one per distinct refusal.

    Each UPDATE applies only while the account still uses the Connected App and the user is
    still waiting (a rollback, a closed window or a concurrent success wins)."""
    now = timezone.now()
    rows = []
    connected: list[ConnectedUser] = []
    refused: dict[tuple[str, str], list[ConnectedUser]] = {}
    for attempt in attempts:
        mapping, error = attempt.mapping, attempt.error
        if error is None:
            mapping.crm_user_id = attempt.user_id or mapping.crm_user_id
            connected.append(mapping)
        else:
            refused.setdefault((error.code[:80], error.message[:255]), []).append(mapping)
        rows.append(
            MigrationRow(
                mapping.user.get_username(),
                mapping.crm_username,
                mapping.crm_user_id,
                "failure" if error else "success",
                error.code if error else "",
                error.message if error else "",
                attempt.attempted_at,
            )
        )
    usage_record_many(connection.account_id, [m.crm_username for m in connected])
    if connected:
        _outcome_apply(
            connected,
            state=UserConnectionState.CONNECTED,
            crm_user_id=_by_pk("crm_user_id", {m.pk: m.crm_user_id for m in connected}),
            last_error_code="",
            last_error_message="",
            last_attempt_at=now,
            connected_at=now,
        )
    for (code, message), mappings in refused.items():
        _outcome_apply(
            mappings,
            state=UserConnectionState.PENDING,
            last_error_code=code,
            last_error_message=message,
            last_attempt_at=now,
        )
    return rows


def _by_pk(column: str, values: dict[int, str]) -> RawSQL:
    """`CASE id WHEN … THEN … END`: one value per row in one UPDATE (the ORM's Case/When
    compiled a lookup per row, a third of a millisecond each)."""
    pk = db.ops.quote_name("id")
    cases = " ".join(["WHEN %s THEN %s"] * len(values))
    params = [item for pair in values.items() for item in pair]
    sql = f"CASE {pk} {cases} ELSE {db.ops.quote_name(column)} END"  # names; values are params
    return RawSQL(sql, params)  # noqa: S611


def _outcome_apply(mappings: list[ConnectedUser], **values: Any) -> None:
    applied = ConnectedUser.objects.filter(
        pk__in=[m.pk for m in mappings],
        state__in=WAITING,
        account__crm_connection__state=ConnectionState.CONNECTED_APP,
    ).update(**values)
    if applied == len(mappings):  # as stored (a single attempt is always exact)
        for mapping in mappings:
            for name, value in values.items():
                if name != "crm_user_id":  # already set on the instance
                    setattr(mapping, name, value)


def window_is_open(connection: CrmConnection) -> bool:
    """Auto-connection's 14 days: open from the upgrade until `window_ends_at`, exclusive."""
    return (
        connection.state == ConnectionState.CONNECTED_APP
        and connection.window_ends_at is not None
        and timezone.now() < connection.window_ends_at
    )


def user_auto_connect(*, mapping: ConnectedUser) -> bool:
    """On next use, within the window: reconnect a user the migration could not; True if done."""
    connection = CrmConnection.objects.get(account_id=mapping.account_id)
    if mapping.state == UserConnectionState.CONNECTED:
        return True
    if connection.state != ConnectionState.CONNECTED_APP or not mapping.was_legacy:
        return False
    if not window_is_open(connection):
        window_close(connection)
        return False
    row = user_connect_attempt(connection=connection, mapping=mapping, client=crm_client())
    return row.status == "success"


@transaction.atomic
def window_close(connection: CrmConnection) -> bool:
    """After the 14 days: legacy passwords go; users not reconnected must connect by hand.

    Idempotent (True only for the run that closed it): whether the passwords were erased
    early or not, every user still waiting for auto-connection ends `disconnected`.
    """
    locked = CrmConnection.objects.select_for_update().get(pk=connection.pk)
    if locked.state != ConnectionState.CONNECTED_APP or window_is_open(locked):
        return False
    mappings = ConnectedUser.objects.filter(account_id=locked.account_id)
    waiting = mappings.filter(state__in=WAITING)
    if (
        not locked.legacy_secret
        and not waiting.exists()
        and not mappings.exclude(legacy_secret="").exists()
    ):
        return False
    disconnected = list(waiting.values_list("crm_username", flat=True))
    waiting.update(state=UserConnectionState.DISCONNECTED)
    legacy_erase(locked)
    locked.save(update_fields=["legacy_secret"])
    audit(
        locked,
        None,
        "connect.window_closed",
        locked.system_username,
        None,
        {"disconnected": disconnected},
    )
    connection.legacy_secret = ""
    return True


def legacy_erase(connection: CrmConnection) -> None:
    connection.legacy_secret = ""
    ConnectedUser.objects.filter(account_id=connection.account_id).update(legacy_secret="")


def migration_running(connection: CrmConnection) -> bool:
    claimed = connection.migration_claimed_at
    return claimed is not None and claimed > timezone.now() - migration_lease()
