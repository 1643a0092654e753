"""Legacy authentication: the account's system user and each user's mapping, by password."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect import tokens
from tandem.engagement.connect.client import CrmError, CrmIdentity, CrmToken
from tandem.engagement.connect.crm_hosts import crm_url_problem
from tandem.engagement.connect.crypto import secret_encrypt
from tandem.engagement.connect.errors import ConnectError, ConnectStateError
from tandem.engagement.connect.models import (
    ConnectedUser,
    ConnectionState,
    CrmConnection,
    UserConnectionState,
)
from tandem.engagement.connect.services.records import audit, describe, usage_record
from tandem.engagement.connect.services.seam import crm_client, jwt_token, org_check

MY_DOMAIN_INFIX = ".my."


def _my_domain(instance_url: str) -> str:
    host = urlsplit(instance_url).hostname or ""
    return host.split(MY_DOMAIN_INFIX, 1)[0] if MY_DOMAIN_INFIX in host else ""


def legacy_secret(password: str, security_token: str) -> str:
    return secret_encrypt(password + security_token.strip())


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
    if problem := crm_url_problem(login_url):
        raise ConnectError(
            f"Enter this deployment's CRM login URL or one of its My Domain URLs: {problem}.",
            "login_url",
        )
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
    usage_record(account.pk, username)
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
    old = None if created else describe(connection)
    connection.login_url = login_url
    connection.instance_url = token.instance_url
    connection.my_domain = _my_domain(token.instance_url)
    connection.org_id = identity.org_id
    connection.system_username = identity.username
    connection.system_user_id = identity.user_id
    connection.legacy_secret = legacy_secret(password, security_token)
    connection.save()
    tokens.tokens_forget(account.pk)
    audit(
        connection,
        actor,
        "connect.account_connected",
        connection.system_username,
        old,
        describe(connection),
    )
    return connection


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
            token = jwt_token(connection, crm_username, client)
        identity = client.identity(token=token)
    except CrmError as exc:
        raise ConnectError(f"The CRM refused the login: {exc.message} ({exc.code}).") from exc
    org_check(connection, identity)
    usage_record(connection.account_id, crm_username)
    secret = legacy_secret(password, security_token) if legacy else ""
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
    audit(
        connection,
        actor,
        "connect.user_mapped",
        user.get_username(),
        None,
        {"crm_username": identity.username, "state": mapping.state},
    )
    return mapping
