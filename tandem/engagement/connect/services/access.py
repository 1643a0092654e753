"""Tokens for Connect's calls: from the per-process cache, legacy login or the JWT bearer flow.

In Connected App mode only the system user and mapped users get a token, a user still waiting
is auto-connected on this use within the window, and every fresh token's org is checked.
"""

from __future__ import annotations

from collections.abc import Callable

from tandem.engagement.connect import tokens
from tandem.engagement.connect.client import CrmClient, CrmError, CrmToken
from tandem.engagement.connect.crypto import secret_decrypt
from tandem.engagement.connect.errors import ConnectError, ConnectStateError
from tandem.engagement.connect.models import (
    ApiFamily,
    ConnectedUser,
    ConnectionState,
    CrmConnection,
    UserConnectionState,
)
from tandem.engagement.connect.services.autoconnect import user_auto_connect
from tandem.engagement.connect.services.records import limit_record, usage_record
from tandem.engagement.connect.services.seam import crm_client, jwt_token, org_check


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
        token = jwt_token(connection, username, client)
        org_check(connection, client.identity(token=token))  # never another org's user
    usage_record(connection.account_id, username)
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
    *,
    family: str = ApiFamily.REST,
    counted: bool | None = None,
) -> object:
    """Run one call as the system user (or `username`), counting it (by API family and whether
    it counts against the CRM's limit: see `usage_record`) and noting the CRM's limit."""
    token = connection_token(connection, username)
    client = crm_client()
    try:
        result = call(client, token)
    except CrmError as exc:
        if exc.status != 401:
            raise
        tokens.tokens_forget(connection.account_id)  # the CRM ended the session: log in again
        result = call(client, connection_token(connection, username))
    if counted is None:  # as usage_record would decide, without reading the connection again
        counted = family == ApiFamily.BULK or connection.state == ConnectionState.LEGACY
    usage_record(
        connection.account_id,
        (username or connection.system_username).lower(),
        family=family,
        counted=counted,
    )
    usage = getattr(result, "usage", None)
    if usage is not None:
        limit_record(connection, usage.used, usage.limit)
    return result
