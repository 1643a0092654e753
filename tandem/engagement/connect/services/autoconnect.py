"""Auto-connection of previously connected users within the 14-day window.

One attempt (JWT bearer for the mapped CRM username, the identity's org checked) records its
outcome only while the account is still Connected App and the user still waits. The window is
open from the upgrade until `window_ends_at`, exclusive; closing it ends every waiting user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tandem.engagement.connect.client import CrmClient, CrmError
from tandem.engagement.connect.models import (
    ConnectedUser,
    ConnectionState,
    CrmConnection,
    UserConnectionState,
)
from tandem.engagement.connect.services.records import audit, usage_record
from tandem.engagement.connect.services.seam import crm_client, jwt_token


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


def user_connect_attempt(
    *, connection: CrmConnection, mapping: ConnectedUser, client: CrmClient
) -> MigrationRow:
    """JWT bearer for the mapped CRM username; the mapping records the outcome."""
    attempted = _now_iso()
    try:
        token = jwt_token(connection, mapping.crm_username, client)
        identity = client.identity(token=token)
        if not identity.org_id or identity.org_id != connection.org_id:
            raise CrmError(
                "org_mismatch",
                f"the CRM user belongs to org {identity.org_id or '(unknown)'}, "
                f"not to the connected org {connection.org_id}",
            )
    except CrmError as exc:
        _mapping_outcome(mapping, UserConnectionState.PENDING, exc.code, exc.message)
        return MigrationRow(
            mapping.user.get_username(),
            mapping.crm_username,
            mapping.crm_user_id,
            "failure",
            exc.code,
            exc.message,
            attempted,
        )
    usage_record(connection.account_id, mapping.crm_username)
    mapping.crm_user_id = identity.user_id or mapping.crm_user_id
    _mapping_outcome(mapping, UserConnectionState.CONNECTED, "", "")
    return MigrationRow(
        mapping.user.get_username(),
        mapping.crm_username,
        mapping.crm_user_id,
        "success",
        "",
        "",
        attempted,
    )


def mapping_pending(mapping: ConnectedUser, code: str, message: str) -> bool:
    """Record why a waiting user is still waiting (nothing changes once they are not)."""
    return _mapping_outcome(mapping, UserConnectionState.PENDING, code, message)


def _mapping_outcome(mapping: ConnectedUser, state: str, code: str, message: str) -> bool:
    """Record one attempt's outcome, only while the account still uses the Connected App and
    the user is still waiting (a rollback, a closed window or a concurrent success wins)."""
    now = timezone.now()
    values: dict[str, object] = {
        "state": state,
        "crm_user_id": mapping.crm_user_id,
        "last_error_code": code[:80],
        "last_error_message": message[:255],
        "last_attempt_at": now,
    }
    if state == UserConnectionState.CONNECTED:
        values["connected_at"] = now
    applied = ConnectedUser.objects.filter(
        pk=mapping.pk,
        state__in=WAITING,
        account__crm_connection__state=ConnectionState.CONNECTED_APP,
    ).update(**values)
    if applied:
        for name, value in values.items():
            setattr(mapping, name, value)
    return bool(applied)


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
