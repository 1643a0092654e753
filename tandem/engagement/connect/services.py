"""Writes of Connect: connect (legacy), map users, the upgrade, migration, outages, usage."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.accounts.services import audit_record
from tandem.engagement.connect import tokens
from tandem.engagement.connect.client import CrmClient, CrmError, CrmIdentity, CrmToken
from tandem.engagement.connect.crypto import secret_decrypt, secret_encrypt
from tandem.engagement.connect.errors import ConnectError, ConnectStateError, UpgradeIdentityError
from tandem.engagement.connect.models import (
    AUTO_CONNECT_DAYS,
    ApiCallDay,
    ConnectedUser,
    ConnectionState,
    CrmConnection,
    Outage,
    UserConnectionState,
)

SECTION = "Salesforce Integration"
MY_DOMAIN_INFIX = ".my."


def _default_client() -> CrmClient:
    from tandem.engagement.connect.client import HttpCrmClient

    return HttpCrmClient()


# Tests of single pieces swap in a fake; the end-to-end tests always use the HTTP client.
client_factory: Callable[[], CrmClient] = _default_client


def crm_client() -> CrmClient:
    return client_factory()


def _audit(
    connection_or_account: CrmConnection | Account,
    actor: User | None,
    action: str,
    target: str,
    old: object = None,
    new: object = None,
) -> None:
    account = (
        connection_or_account.account
        if isinstance(connection_or_account, CrmConnection)
        else connection_or_account
    )
    audit_record(account=account, actor=actor, action=action, target=target, old=old, new=new)


def _my_domain(instance_url: str) -> str:
    host = urlsplit(instance_url).hostname or ""
    return host.split(MY_DOMAIN_INFIX, 1)[0] if MY_DOMAIN_INFIX in host else ""


def _usage_record(account_id: int, username: str) -> None:
    """Count one call of Connect to the CRM for today and `username`."""
    day = timezone.now().date()
    updated = ApiCallDay.objects.filter(
        account_id=account_id, day=day, crm_username=username
    ).update(calls=F("calls") + 1)
    if not updated:
        ApiCallDay.objects.get_or_create(
            account_id=account_id, day=day, crm_username=username, defaults={"calls": 1}
        )


def org_check(connection: CrmConnection, identity: CrmIdentity) -> None:
    """Refuse a CRM identity of another org than the connection's (before anything is stored).

    The org id comes from the CRM's identity answer for the token just obtained, so a username
    that exists in another org (even pre-authorized there) is never mapped, migrated or used."""
    if not identity.org_id or identity.org_id != connection.org_id:
        raise ConnectError(
            f"The CRM user {identity.username or '(unknown)'} belongs to org "
            f"{identity.org_id or '(unknown)'}, not to org {connection.org_id} that this account "
            "is connected to.",
            "crm_username",
        )


def _limit_record(connection: CrmConnection, used: int, limit: int) -> None:
    CrmConnection.objects.filter(pk=connection.pk).update(
        crm_api_used=used, crm_api_max=limit, crm_api_seen_at=timezone.now()
    )


def _legacy_secret(password: str, security_token: str) -> str:
    return secret_encrypt(password + security_token.strip())


# --- Legacy connection ------------------------------------------------------------------------


def connection_legacy_connect(
    *,
    actor: User | None,
    account: Account,
    login_url: str,
    username: str,
    password: str,
    security_token: str,
) -> CrmConnection:
    """Connect the account with the system user's password and security token (legacy)."""
    login_url = login_url.strip().rstrip("/")
    if urlsplit(login_url).scheme not in ("http", "https") or not urlsplit(login_url).netloc:
        raise ConnectError("Enter the CRM login URL, e.g. https://login.example.com", "login_url")
    username = username.strip().lower()
    if not username or not password:
        raise ConnectError("Enter the system user's username and password.", "username")
    existing = CrmConnection.objects.filter(account=account).first()
    if existing is not None and existing.state != ConnectionState.LEGACY:
        raise ConnectStateError("The account already uses Connected App authentication.")
    client = crm_client()
    try:
        token = client.password_login(
            token_url=login_url, username=username, password=password + security_token.strip()
        )
        identity = client.identity(token=token)
    except CrmError as exc:
        raise ConnectError(f"The CRM refused the login: {exc.message} ({exc.code}).") from exc
    other_org = existing is not None and existing.org_id != identity.org_id
    if other_org and ConnectedUser.objects.filter(account=account).exists():
        assert existing is not None
        raise ConnectError(
            f"{identity.username} belongs to org {identity.org_id}, but this account's "
            f"connected users belong to org {existing.org_id}.",
            "username",
        )
    _usage_record(account.pk, username)
    return _legacy_save(actor, account, login_url, token, identity, password, security_token)


@transaction.atomic
def _legacy_save(
    actor: User | None,
    account: Account,
    login_url: str,
    token: CrmToken,
    identity: CrmIdentity,
    password: str,
    security_token: str,
) -> CrmConnection:
    connection, created = CrmConnection.objects.select_for_update().get_or_create(
        account=account,
        defaults={
            "login_url": login_url,
            "org_id": identity.org_id,
            "system_username": identity.username,
            "system_user_id": identity.user_id,
        },
    )
    old = None if created else _describe(connection)
    connection.login_url = login_url
    connection.instance_url = token.instance_url
    connection.my_domain = _my_domain(token.instance_url)
    connection.org_id = identity.org_id
    connection.system_username = identity.username
    connection.system_user_id = identity.user_id
    connection.legacy_secret = _legacy_secret(password, security_token)
    connection.save()
    tokens.tokens_forget(account.pk)
    _audit(
        connection,
        actor,
        "connect.account_connected",
        connection.system_username,
        old,
        _describe(connection),
    )
    return connection


def _describe(connection: CrmConnection) -> dict[str, object]:
    """What the audit trail keeps of the connection (never a secret)."""
    return {
        "state": connection.state,
        "login_url": connection.login_url,
        "instance_url": connection.instance_url,
        "org_id": connection.org_id,
        "system_username": connection.system_username,
        "system_user_id": connection.system_user_id,
    }


# --- Per-user mappings (Integrate for Salesforce.com Status) ---------------------------------


def connected_user_map(
    *,
    actor: User,
    connection: CrmConnection,
    user: User,
    crm_username: str,
    password: str = "",
    security_token: str = "",
) -> ConnectedUser:
    """Map `user` to a CRM username: legacy logs in with the password, Connected App via JWT."""
    if user.account_id != connection.account_id:
        raise ConnectError("Choose a user of this account.", "user")
    crm_username = crm_username.strip().lower()
    if not crm_username:
        raise ConnectError("Enter the CRM username.", "crm_username")
    if connection.state == ConnectionState.UPGRADING:
        raise ConnectStateError("Users cannot be connected while the upgrade is in progress.")
    client = crm_client()
    legacy = connection.state == ConnectionState.LEGACY
    try:
        if legacy:
            if not password:
                raise ConnectError("Enter the CRM password.", "password")
            token = client.password_login(
                token_url=connection.token_url,
                username=crm_username,
                password=password + security_token.strip(),
            )
        else:
            token = _jwt(connection, crm_username, client)
        identity = client.identity(token=token)
    except CrmError as exc:
        raise ConnectError(f"The CRM refused the login: {exc.message} ({exc.code}).") from exc
    org_check(connection, identity)
    _usage_record(connection.account_id, crm_username)
    secret = _legacy_secret(password, security_token) if legacy else ""
    return _mapping_save(actor, connection, user, identity, secret, legacy)


@transaction.atomic
def _mapping_save(
    actor: User,
    connection: CrmConnection,
    user: User,
    identity: CrmIdentity,
    secret: str,
    legacy: bool,
) -> ConnectedUser:
    mapping, _ = ConnectedUser.objects.update_or_create(
        user=user,
        defaults={
            "account_id": connection.account_id,
            "crm_username": identity.username,
            "crm_user_id": identity.user_id,
            "legacy_secret": secret,
            "was_legacy": legacy,
            "state": UserConnectionState.LEGACY if legacy else UserConnectionState.CONNECTED,
            "connected_at": timezone.now(),
            "last_error_code": "",
            "last_error_message": "",
        },
    )
    _audit(
        connection,
        actor,
        "connect.user_mapped",
        user.get_username(),
        None,
        {"crm_username": identity.username, "state": mapping.state},
    )
    return mapping


# --- Tokens --------------------------------------------------------------------------------


def _jwt(connection: CrmConnection, username: str, client: CrmClient) -> CrmToken:
    return client.jwt_login(
        token_url=connection.token_url, audience=connection.token_url, username=username
    )


def connection_token(connection: CrmConnection, username: str | None = None) -> CrmToken:
    """An access token for the system user (or a mapped user), from the cache when fresh."""
    username = (username or connection.system_username).lower()
    if connection.state == ConnectionState.UPGRADING:
        raise ConnectStateError("Connect is unavailable during the Connected App upgrade.")
    cached = tokens.token_cached(connection.account_id, username)
    if cached is not None:
        return cached
    client = crm_client()
    if connection.state == ConnectionState.LEGACY:
        secret = _legacy_secret_of(connection, username)
        token = client.password_login(
            token_url=connection.token_url, username=username, password=secret_decrypt(secret)
        )
    else:
        _user_usable(connection, username)
        token = _jwt(connection, username, client)
        org_check(connection, client.identity(token=token))  # never another org's user
    _usage_record(connection.account_id, username)
    tokens.token_store(connection.account_id, username, token)
    return token


def _user_usable(connection: CrmConnection, username: str) -> None:
    """A mapped user not reconnected yet: auto-connection on this use, within the window."""
    if username == connection.system_username.lower():
        return
    mapping = ConnectedUser.objects.filter(
        account_id=connection.account_id, crm_username=username
    ).first()
    if mapping is None:
        raise ConnectError(f"{username} is not a connected user of this account.")
    if mapping.state == UserConnectionState.CONNECTED:
        return
    from tandem.engagement.connect.migration import user_auto_connect

    if not user_auto_connect(mapping=mapping):
        mapping.refresh_from_db()
        if mapping.state == UserConnectionState.PENDING:
            raise ConnectError(
                f"{username} is not connected through the connected app"
                + (f": {mapping.last_error_message}" if mapping.last_error_message else "")
                + ". Within the 14 days they are retried automatically."
            )
        raise ConnectError(
            f"{username} is not connected through the connected app: the 14-day "
            "auto-connection window has ended, so they connect by hand (Connect on Salesforce "
            "Integration)."
        )


def _legacy_secret_of(connection: CrmConnection, username: str) -> str:
    if username == connection.system_username.lower():
        secret = connection.legacy_secret
    else:
        mapping = ConnectedUser.objects.filter(
            account_id=connection.account_id, crm_username=username
        ).first()
        secret = mapping.legacy_secret if mapping else ""
    if not secret:
        raise ConnectError(f"No legacy credentials are stored for {username}.")
    return secret


def crm_call(
    connection: CrmConnection,
    call: Callable[[CrmClient, CrmToken], object],
    username: str | None = None,
) -> object:
    """Run one REST call as the system user (or `username`), counting it and the CRM's limit."""
    token = connection_token(connection, username)
    client = crm_client()
    try:
        result = call(client, token)
    except CrmError as exc:
        if exc.status != 401:
            raise
        tokens.tokens_forget(connection.account_id)  # the CRM ended the session: log in again
        result = call(client, connection_token(connection, username))
    _usage_record(connection.account_id, (username or connection.system_username).lower())
    usage = getattr(result, "usage", None)
    if usage is not None:
        _limit_record(connection, usage.used, usage.limit)
    return result


# --- The upgrade (spec/upgrade.md §4 steps 4 to 11) -------------------------------------------


def pkce_pair() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)
    return verifier, pkce_challenge(verifier)


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(
    connection: CrmConnection, *, state: str, challenge: str, login_hint: str, log_in_again: bool
) -> str:
    """The CRM's authorize URL for the web-server flow with PKCE (S256), on My Domain if any."""
    params = {
        "response_type": "code",
        "client_id": settings.MC_CONSUMER_KEY,
        "redirect_uri": callback_url(),
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if login_hint:
        params["login_hint"] = login_hint
    if log_in_again:
        params["prompt"] = "login"
    return f"{connection.token_url}/services/oauth2/authorize?{urlencode(params)}"


def code_identity(connection: CrmConnection, *, code: str, verifier: str) -> CrmIdentity:
    """Exchange the web-server flow's code (with the PKCE verifier) and read who it connected."""
    client = crm_client()
    token = client.code_exchange(
        token_url=connection.token_url, code=code, redirect_uri=callback_url(), verifier=verifier
    )
    return client.identity(token=token)


def callback_url() -> str:
    """The callback registered on the Salesforce Marketing Cloud app."""
    configured = settings.MC_CALLBACK_URL
    if configured:
        return str(configured)
    return (
        f"{str(settings.ENGAGEMENT_URL).rstrip('/')}/email/admin/salesforce-integration/callback/"
    )


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
    _audit(
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
    _usage_record(connection.account_id, identity.username)
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
        _audit(
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
    _audit(connection, actor, "connect.upgrade_identity_verified", identity.username, None, seen)
    return connection, None


def upgrade_verify_by_jwt(*, actor: User, connection: CrmConnection) -> CrmConnection:
    """The scripted path (no browser): the system user's identity through the JWT bearer flow."""
    if connection.state != ConnectionState.UPGRADING:
        raise ConnectStateError("Start the upgrade first.")
    client = crm_client()
    try:
        identity = client.identity(token=_jwt(connection, connection.system_username, client))
    except CrmError as exc:
        raise ConnectError(
            f"The system user {connection.system_username} cannot connect through the "
            f"Salesforce Marketing Cloud app: {exc.message} ({exc.code})."
        ) from exc
    connection, refusal = _identity_check(actor, connection, identity)
    if refusal is not None:
        raise refusal
    _usage_record(connection.account_id, identity.username)
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
    _audit(
        connection,
        actor,
        "connect.system_user_changed",
        connection.system_username,
        old,
        {"system_username": connection.system_username},
    )
    return connection


def upgrade_complete(
    *, actor: User | None, connection: CrmConnection, migrate_users: bool, erase_legacy_now: bool
) -> CrmConnection:
    """Connect: the system user through the connected app, then the switch, then migration.

    The switch is claimed by one conditional UPDATE (from `upgrading`, identity verified): of a
    double submit, or a Connect racing a rollback, one wins and the other changes nothing.
    """
    connection.refresh_from_db()
    if connection.state != ConnectionState.UPGRADING or not connection.verified_identity:
        raise ConnectStateError("Connect the account to the CRM first (Connect Account).")
    client = crm_client()
    try:
        token = _jwt(connection, connection.system_username, client)
    except CrmError as exc:
        raise ConnectError(
            f"The system user {connection.system_username} cannot connect through the "
            f"Salesforce Marketing Cloud app: {exc.message} ({exc.code}). Pre-authorize it in "
            "the CRM (permission set linked to the app) and press Connect again."
        ) from exc
    _usage_record(connection.account_id, connection.system_username)
    connection = _switch(actor, connection, erase_legacy_now)
    tokens.token_store(connection.account_id, connection.system_username, token)
    if migrate_users:
        from tandem.engagement.connect.migration import users_migrate

        users_migrate(actor=actor, connection=connection)
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
        _erase_legacy(connection)
        connection.save(update_fields=["legacy_secret"])
    # Users connected under legacy wait for auto-connection (Migrate, next use, the sweep).
    ConnectedUser.objects.filter(
        account_id=connection.account_id, was_legacy=True, state=UserConnectionState.LEGACY
    ).update(state=UserConnectionState.PENDING)
    tokens.tokens_forget(connection.account_id)
    assert connection.window_ends_at is not None
    _audit(
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
    _resume_held_after_commit(connection.account_id)
    return connection


def _erase_legacy(connection: CrmConnection) -> None:
    connection.legacy_secret = ""
    ConnectedUser.objects.filter(account_id=connection.account_id).update(legacy_secret="")


def _resume_held_after_commit(account_id: int) -> None:
    from tandem.engagement.connect.resume import held_sends_resume

    transaction.on_commit(lambda: held_sends_resume(account_id=account_id))


@transaction.atomic
def legacy_credentials_erase(*, actor: User | None, connection: CrmConnection) -> None:
    """Erase the legacy passwords now (they are kept only for a rollback within the window)."""
    connection = CrmConnection.objects.select_for_update().get(pk=connection.pk)
    if connection.state != ConnectionState.CONNECTED_APP:
        raise ConnectStateError("Legacy credentials are in use until the upgrade completes.")
    _erase_legacy(connection)
    connection.save()
    _audit(connection, actor, "connect.legacy_credentials_erased", connection.system_username)


MIGRATION_LEASE = timedelta(minutes=10)  # a migration whose worker died frees the account


def migration_running(connection: CrmConnection) -> bool:
    claimed = connection.migration_claimed_at
    return claimed is not None and claimed > timezone.now() - MIGRATION_LEASE


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
        migration_claimed_at__lte=timezone.now() - MIGRATION_LEASE
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
    ConnectedUser.objects.filter(account_id=connection.account_id, was_legacy=True).exclude(
        legacy_secret=""
    ).update(state=UserConnectionState.LEGACY, last_error_code="", last_error_message="")
    tokens.tokens_forget(connection.account_id)
    _audit(
        connection,
        actor,
        "connect.upgrade_rolled_back",
        connection.system_username,
        {"state": old},
        {"state": connection.state},
    )
    _resume_held_after_commit(connection.account_id)
    return connection


@transaction.atomic
def connection_options_update(
    *, actor: User, connection: CrmConnection, hold_crm_sends: bool
) -> None:
    """The account's choice: hold CRM-audience sends during an outage instead of failing them."""
    old = connection.hold_crm_sends
    CrmConnection.objects.filter(pk=connection.pk).update(hold_crm_sends=hold_crm_sends)
    _audit(connection, actor, "connect.options_changed", "hold_crm_sends", old, hold_crm_sends)


# --- Outages ----------------------------------------------------------------------------------


@transaction.atomic
def outage_schedule(*, actor: User, account: Account, starts_at: datetime, hours: float) -> Outage:
    """Schedule a Connect outage of `hours` from `starts_at`."""
    if not 0 < hours <= 72:
        raise ConnectError("Choose a duration between a few minutes and 72 hours.", "duration")
    if starts_at < timezone.now() - timedelta(minutes=5):
        raise ConnectError("Choose a start time in the future.", "starts_at")
    outage = Outage.objects.create(
        account=account,
        starts_at=starts_at,
        created_by=actor,
        ends_at=starts_at + timedelta(hours=hours),
    )
    _audit(
        account,
        actor,
        "connect.outage_scheduled",
        str(outage),
        None,
        {"starts_at": outage.starts_at.isoformat(), "ends_at": outage.ends_at.isoformat()},
    )
    return outage
