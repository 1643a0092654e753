"""The upgrade's state machine: legacy → upgrading → connected_app, and the rollback.

Every transition re-checks the state where it writes it (a conditional UPDATE after the row
lock), so a double submit or a racing rollback changes nothing the second time.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tandem.engagement.accounts.models import User
from tandem.engagement.connect import tokens
from tandem.engagement.connect.client import CrmError, CrmIdentity
from tandem.engagement.connect.crypto import secret_decrypt, secret_encrypt
from tandem.engagement.connect.errors import ConnectError, ConnectStateError, UpgradeIdentityError
from tandem.engagement.connect.models import (
    AUTO_CONNECT_DAYS,
    ConnectedUser,
    ConnectionState,
    CrmConnection,
    UserConnectionState,
)
from tandem.engagement.connect.resume import resume_after_commit
from tandem.engagement.connect.services.autoconnect import (
    legacy_erase,
    migration_lease,
    migration_running,
)
from tandem.engagement.connect.services.migration import (
    migration_end_unfinished,
    migration_start,
    users_migrate,
)
from tandem.engagement.connect.services.pkce import authorize_url, code_identity, pkce_pair
from tandem.engagement.connect.services.records import audit, usage_record
from tandem.engagement.connect.services.seam import crm_client, jwt_token


@transaction.atomic
def upgrade_begin(*, actor: User, connection: CrmConnection, log_in_again: bool) -> str:
    """Enter `upgrading` (or retry it) and return the CRM authorize URL to send the admin to."""
    connection = CrmConnection.objects.select_for_update().get(pk=connection.pk)
    if connection.state == ConnectionState.CONNECTED_APP:
        raise ConnectStateError("The account already uses Connected App authentication.")
    if not settings.MC_CONSUMER_KEY:
        raise ConnectError("This deployment has no Salesforce Marketing Cloud consumer key.")
    old_state = connection.state
    verifier, challenge = pkce_pair()
    connection.state = ConnectionState.UPGRADING
    connection.upgrade_started_at = connection.upgrade_started_at or timezone.now()
    connection.upgraded_by = actor
    connection.pending_oauth_state = secrets.token_urlsafe(32)
    connection.pending_verifier = secret_encrypt(verifier)
    connection.pending_identity = None
    connection.verified_identity = None
    connection.save()
    tokens.tokens_forget(connection.account_id)
    audit(
        connection,
        actor,
        "connect.upgrade_started",
        connection.system_username,
        {"state": old_state},
        {"state": connection.state, "log_in_again": log_in_again},
    )
    return authorize_url(
        connection,
        state=connection.pending_oauth_state,
        challenge=challenge,
        login_hint=connection.system_username,
        log_in_again=log_in_again,
    )


def upgrade_callback(
    *, actor: User, connection: CrmConnection, state: str, code: str, error: str = ""
) -> CrmConnection:
    """Check the CRM's answer and the identity it connected; the account stays recoverable."""
    if connection.state != ConnectionState.UPGRADING or not connection.pending_oauth_state:
        raise ConnectStateError("No upgrade is waiting for the CRM; start it again.")
    if not secrets.compare_digest(state.encode(), connection.pending_oauth_state.encode()):
        raise ConnectError("The CRM's answer does not belong to this upgrade; start it again.")
    if error:
        raise ConnectError(f"The CRM did not connect the account: {error}. Try again.")
    try:
        identity = code_identity(
            connection, code=code, verifier=secret_decrypt(connection.pending_verifier)
        )
    except CrmError as exc:
        raise ConnectError(f"The CRM refused the connection: {exc.message} ({exc.code}).") from exc
    connection, refusal = _identity_check(actor, connection, identity)
    if refusal is not None:
        raise refusal  # raised after commit: the mismatch and its audit row are kept
    usage_record(connection.account_id, identity.username)
    return connection


@transaction.atomic
def _identity_check(
    actor: User, connection: CrmConnection, identity: CrmIdentity
) -> tuple[CrmConnection, UpgradeIdentityError | None]:
    connection = CrmConnection.objects.select_for_update().get(pk=connection.pk)
    connection.pending_oauth_state = ""
    connection.pending_verifier = ""
    seen = {"org_id": identity.org_id, "user_id": identity.user_id, "username": identity.username}
    if identity.org_id != connection.org_id:
        connection.save()
        audit(
            connection,
            actor,
            "connect.upgrade_identity_refused",
            identity.username,
            {"org_id": connection.org_id},
            seen,
        )
        return connection, UpgradeIdentityError(
            f"The CRM connected org {identity.org_id} as {identity.username}, but this account "
            f"is connected to org {connection.org_id}. Log in to the right org and try again.",
            can_accept=False,
        )
    if identity.user_id != connection.system_user_id:
        connection.pending_identity = seen
        connection.save()
        return connection, UpgradeIdentityError(
            f"The CRM connected {identity.username}, not the system user "
            f"{connection.system_username}. Log in again as the system user, or accept "
            f"{identity.username} as the new system user.",
            can_accept=True,
        )
    connection.verified_identity = seen
    connection.save()
    audit(connection, actor, "connect.upgrade_identity_verified", identity.username, None, seen)
    return connection, None


def upgrade_verify_by_jwt(*, actor: User, connection: CrmConnection) -> CrmConnection:
    """The scripted path (no browser): the system user's identity through the JWT bearer flow."""
    if connection.state != ConnectionState.UPGRADING:
        raise ConnectStateError("Start the upgrade first.")
    client = crm_client()
    try:
        identity = client.identity(token=jwt_token(connection, connection.system_username, client))
    except CrmError as exc:
        raise ConnectError(
            f"The system user {connection.system_username} cannot connect through the "
            f"Salesforce Marketing Cloud app: {exc.message} ({exc.code})."
        ) from exc
    connection, refusal = _identity_check(actor, connection, identity)
    if refusal is not None:
        raise refusal
    usage_record(connection.account_id, identity.username)
    return connection


@transaction.atomic
def upgrade_identity_accept(*, actor: User, connection: CrmConnection) -> CrmConnection:
    """The admin accepts the connected CRM user as the new system user."""
    connection = CrmConnection.objects.select_for_update().get(pk=connection.pk)
    pending = connection.pending_identity
    if connection.state != ConnectionState.UPGRADING or not pending:
        raise ConnectStateError("There is no other user to accept.")
    old = {"system_username": connection.system_username}
    connection.system_username = str(pending["username"])
    connection.system_user_id = str(pending["user_id"])
    connection.verified_identity, connection.pending_identity = pending, None
    connection.save()
    audit(
        connection,
        actor,
        "connect.system_user_changed",
        connection.system_username,
        old,
        {"system_username": connection.system_username},
    )
    return connection


def upgrade_complete(
    *,
    actor: User | None,
    connection: CrmConnection,
    migrate_users: bool,
    erase_legacy_now: bool,
    migrate_here: bool = False,
) -> CrmConnection:
    """Connect: the system user through the connected app, then the switch, then migration.

    The switch is claimed by one conditional UPDATE (from `upgrading`, identity verified): of a
    double submit, or a Connect racing a rollback, one wins and the other changes nothing.
    The worker migrates the users (`migrate_here`: this process, as the CLI does).
    """
    connection.refresh_from_db()
    if connection.state != ConnectionState.UPGRADING or not connection.verified_identity:
        raise ConnectStateError("Connect the account to the CRM first (Connect Account).")
    client = crm_client()
    try:
        token = jwt_token(connection, connection.system_username, client)
    except CrmError as exc:
        raise ConnectError(
            f"The system user {connection.system_username} cannot connect through the "
            f"Salesforce Marketing Cloud app: {exc.message} ({exc.code}). Pre-authorize it in "
            "the CRM (permission set linked to the app) and press Connect again."
        ) from exc
    usage_record(connection.account_id, connection.system_username)
    connection = _switch(actor, connection, erase_legacy_now)
    tokens.token_store(connection.account_id, connection.system_username, token)
    if migrate_users and migrate_here:
        users_migrate(actor=actor, connection=connection)
    elif migrate_users:
        migration_start(actor=actor, connection=connection)  # the worker migrates them
    return connection


@transaction.atomic
def _switch(actor: User | None, connection: CrmConnection, erase_legacy_now: bool) -> CrmConnection:
    now = timezone.now()
    claimed = CrmConnection.objects.filter(
        pk=connection.pk, state=ConnectionState.UPGRADING, verified_identity__isnull=False
    ).update(
        state=ConnectionState.CONNECTED_APP,
        upgraded_at=now,
        window_ends_at=now + timedelta(days=AUTO_CONNECT_DAYS),
        upgraded_by=actor or connection.upgraded_by,
        migration_claimed_at=None,
        updated_at=now,
    )
    if not claimed:
        raise ConnectStateError(
            "The upgrade was completed or rolled back meanwhile; nothing was changed."
        )
    connection = CrmConnection.objects.select_for_update().get(pk=connection.pk)
    if erase_legacy_now:
        legacy_erase(connection)
        connection.save(update_fields=["legacy_secret"])
    # Users connected under legacy wait for auto-connection (Migrate, next use, the sweep).
    ConnectedUser.objects.filter(
        account_id=connection.account_id, was_legacy=True, state=UserConnectionState.LEGACY
    ).update(state=UserConnectionState.PENDING)
    tokens.tokens_forget(connection.account_id)
    assert connection.window_ends_at is not None
    audit(
        connection,
        actor,
        "connect.upgrade_completed",
        connection.system_username,
        {"state": ConnectionState.UPGRADING},
        {
            "state": connection.state,
            "window_ends_at": connection.window_ends_at.isoformat(),
            "legacy_credentials_erased": erase_legacy_now,
        },
    )
    resume_after_commit(connection.account_id)
    return connection


@transaction.atomic
def legacy_credentials_erase(*, actor: User | None, connection: CrmConnection) -> None:
    """Erase the legacy passwords now (they are kept only for a rollback within the window)."""
    connection = CrmConnection.objects.select_for_update().get(pk=connection.pk)
    if connection.state != ConnectionState.CONNECTED_APP:
        raise ConnectStateError("Legacy credentials are in use until the upgrade completes.")
    legacy_erase(connection)
    connection.save()
    audit(connection, actor, "connect.legacy_credentials_erased", connection.system_username)


@transaction.atomic
def upgrade_rollback(*, actor: User | None, connection: CrmConnection) -> CrmConnection:
    """Back to legacy: while upgrading, or within the window while the passwords are held.

    Re-checked under the row lock and claimed by a conditional UPDATE, so a rollback racing
    Connect or Migrate Existing Users either happens before them or not at all."""
    connection = CrmConnection.objects.select_for_update().get(pk=connection.pk)
    if connection.state == ConnectionState.LEGACY:
        raise ConnectStateError("The account already uses legacy authentication.")
    if not connection.legacy_secret:
        raise ConnectStateError("The legacy credentials were erased: a rollback is impossible.")
    if migration_running(connection):
        raise ConnectStateError("Migrate Existing Users is running: roll back once it is done.")
    old = connection.state
    free = Q(migration_claimed_at__isnull=True) | Q(
        migration_claimed_at__lte=timezone.now() - migration_lease()
    )
    claimed = (
        CrmConnection.objects.filter(free, pk=connection.pk, state=old)
        .exclude(legacy_secret="")
        .update(
            state=ConnectionState.LEGACY,
            pending_oauth_state="",
            pending_verifier="",
            pending_identity=None,
            verified_identity=None,
            upgraded_at=None,
            window_ends_at=None,
            upgrade_started_at=None,
            migration_claimed_at=None,
            updated_at=timezone.now(),
        )
    )
    if not claimed:
        raise ConnectStateError("The account changed meanwhile; nothing was rolled back.")
    connection.refresh_from_db()
    migration_end_unfinished(connection)  # its worker died: a later upgrade starts afresh
    ConnectedUser.objects.filter(account_id=connection.account_id, was_legacy=True).exclude(
        legacy_secret=""
    ).update(state=UserConnectionState.LEGACY, last_error_code="", last_error_message="")
    tokens.tokens_forget(connection.account_id)
    audit(
        connection,
        actor,
        "connect.upgrade_rolled_back",
        connection.system_username,
        {"state": old},
        {"state": connection.state},
    )
    resume_after_commit(connection.account_id)
    return connection
