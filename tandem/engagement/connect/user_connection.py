"""Services of a user connecting their own CRM user by hand: the web-server flow with PKCE,
after the window."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from tandem.engagement.accounts.models import User
from tandem.engagement.connect import services, tokens
from tandem.engagement.connect.client import CrmError, CrmIdentity, CrmToken
from tandem.engagement.connect.crypto import secret_decrypt, secret_encrypt
from tandem.engagement.connect.errors import ConnectError, ConnectStateError
from tandem.engagement.connect.models import (
    ConnectedUser,
    ConnectionState,
    CrmConnection,
    UserConnectionState,
)

# Salesforce's authorization code lives 15 minutes (docs/reference/oauth-policies.md); a flow
# older than that is over.
PENDING_SECONDS = 15 * 60


@dataclass(frozen=True)
class PendingUserConnection:
    """A flow in progress, kept in the user's session: state, encrypted verifier, who, when."""

    state: str
    verifier: str
    user_id: int
    account_id: int
    started_at: float

    def as_session(self) -> dict[str, object]:
        return {
            "state": self.state,
            "verifier": self.verifier,
            "user_id": self.user_id,
            "account_id": self.account_id,
            "started_at": self.started_at,
        }

    @classmethod
    def from_session(cls, value: object) -> PendingUserConnection | None:
        if not isinstance(value, dict):
            return None
        try:
            return cls(
                str(value["state"]),
                str(value["verifier"]),
                int(value["user_id"]),
                int(value["account_id"]),
                float(value["started_at"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


def user_connection_get(*, connection: CrmConnection, user: User) -> ConnectedUser | None:
    return ConnectedUser.objects.filter(account_id=connection.account_id, user=user).first()


def user_connection_begin(
    *, actor: User, connection: CrmConnection
) -> tuple[str, PendingUserConnection]:
    """The CRM authorize URL for `actor`, and what the session keeps until the callback."""
    if connection.state != ConnectionState.CONNECTED_APP:
        raise ConnectStateError("Users connect by hand once the account uses the Connected App.")
    if actor.account_id != connection.account_id:
        raise ConnectError("You do not belong to this account.")
    mapping = user_connection_get(connection=connection, user=actor)
    if mapping is not None and mapping.state == UserConnectionState.CONNECTED:
        raise ConnectStateError(f"You are already connected as {mapping.crm_username}.")
    verifier, challenge = services.pkce_pair()
    pending = PendingUserConnection(
        state=secrets.token_urlsafe(32),
        verifier=secret_encrypt(verifier),
        user_id=actor.pk,
        account_id=connection.account_id,
        started_at=timezone.now().timestamp(),
    )
    url = services.authorize_url(
        connection,
        state=pending.state,
        challenge=challenge,
        login_hint=mapping.crm_username if mapping else "",
        # Never reuse whatever CRM session this browser holds: it may be someone else's.
        log_in_again=True,
    )
    return url, pending


def user_connection_complete(
    *,
    actor: User,
    connection: CrmConnection,
    pending: PendingUserConnection | None,
    state: str,
    code: str,
    error: str = "",
) -> ConnectedUser:
    """Back from the CRM: check the answer, the identity and its use; then record the mapping."""
    _answer_check(actor, connection, pending, state, error)
    assert pending is not None
    try:
        identity = services.code_identity(
            connection, code=code, verifier=secret_decrypt(pending.verifier)
        )
    except CrmError as exc:
        raise ConnectError(f"The CRM refused the connection: {exc.code}: {exc.message}.") from exc
    if identity.org_id != connection.org_id:
        raise ConnectError(
            f"The CRM connected {identity.username} of org {identity.org_id}, but this account "
            f"is connected to org {connection.org_id}. Log in to the right org and try again."
        )
    services.usage_record(connection.account_id, identity.username)
    token = _usable(connection, identity)
    mapping = _mapping_record(actor, connection, identity)
    transaction.on_commit(
        lambda: tokens.token_store(connection.account_id, identity.username, token)
    )
    return mapping


def _answer_check(
    actor: User,
    connection: CrmConnection,
    pending: PendingUserConnection | None,
    state: str,
    error: str,
) -> None:
    if connection.state != ConnectionState.CONNECTED_APP:
        raise ConnectStateError("Users connect by hand once the account uses the Connected App.")
    if pending is None:
        raise ConnectError("No connection to the CRM is in progress; press Connect again.")
    if (
        not state
        or not secrets.compare_digest(state.encode(), pending.state.encode())
        or pending.user_id != actor.pk
        or pending.account_id != connection.account_id
    ):
        raise ConnectError(
            "The CRM's answer does not belong to your connection; press Connect again."
        )
    if timezone.now().timestamp() - pending.started_at > PENDING_SECONDS:
        raise ConnectError("The connection took too long; press Connect again.")
    if error:
        raise ConnectError(f"The CRM did not connect you: {error}.")


def _usable(connection: CrmConnection, identity: CrmIdentity) -> CrmToken:
    """Connect uses the user through the JWT bearer flow: prove it works before recording."""
    try:
        client = services.crm_client()
        token = services.jwt_token(connection, identity.username, client)
        services.org_check(connection, client.identity(token=token))
    except CrmError as exc:
        raise ConnectError(
            f"The CRM refused {identity.username} through the Salesforce Marketing Cloud app: "
            f"{exc.code}: {exc.message}. Ask your CRM administrator to pre-authorize you."
        ) from exc
    services.usage_record(connection.account_id, identity.username)
    return token


@transaction.atomic
def _mapping_record(actor: User, connection: CrmConnection, identity: CrmIdentity) -> ConnectedUser:
    # Locking the connection serializes concurrent mappings of one account: no CRM user twice.
    CrmConnection.objects.select_for_update().get(pk=connection.pk)
    taken = (
        ConnectedUser.objects.filter(account_id=connection.account_id)
        .exclude(user=actor)
        .filter(crm_username__iexact=identity.username)
        .select_related("user")
        .first()
    ) or (
        ConnectedUser.objects.filter(account_id=connection.account_id, crm_user_id=identity.user_id)
        .exclude(user=actor)
        .select_related("user")
        .first()
    )
    if taken is not None:
        raise ConnectError(
            f"The CRM user {identity.username} is already connected to another Engagement user "
            f"({taken.user.get_username()}). Log in to the CRM as yourself."
        )
    mapping = ConnectedUser.objects.select_for_update().filter(user=actor).first()
    old = {"crm_username": mapping.crm_username, "state": mapping.state} if mapping else None
    now = timezone.now()
    if mapping is None:
        mapping = ConnectedUser(account_id=connection.account_id, user=actor)
    elif mapping.crm_username != identity.username.lower():
        mapping.legacy_secret = ""  # another CRM user's password is of no use to a rollback
    mapping.crm_username = identity.username.lower()
    mapping.crm_user_id = identity.user_id
    mapping.state = UserConnectionState.CONNECTED
    mapping.last_error_code = mapping.last_error_message = ""
    mapping.last_attempt_at = mapping.connected_at = now
    mapping.save()
    services.audit(
        connection,
        actor,
        "connect.user_connected",
        actor.get_username(),
        old,
        {
            "crm_username": identity.username,
            "crm_user_id": identity.user_id,
            "state": mapping.state,
            "how": "web_server_flow",
        },
    )
    return mapping
