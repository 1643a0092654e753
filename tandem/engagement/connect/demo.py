"""The demo account's connection under legacy authentication, as an admin makes it by hand.

`tandem demo` calls this once the CRM is up (Connect logs in to it): the account is connected
with the system user's password and security token, then each previously connected user is
mapped with their own, through the same services as the page and `tandem connect
connect-legacy` / `map-user`. `reset` first forgets the account's connection, its users'
mappings, migration runs and outages, so that the upgrade can be rehearsed again.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.accounts.services import audit_record
from tandem.engagement.connect import services, tokens
from tandem.engagement.connect.models import ConnectedUser, CrmConnection, MigrationRun, Outage


@dataclass(frozen=True)
class LegacyLogin:
    """A CRM user's legacy credentials, and the Engagement user they belong to (none for the
    system user)."""

    crm_username: str
    password: str
    security_token: str
    engagement_username: str = ""


def demo_legacy_connect(
    *, admin: User, login_url: str, system: LegacyLogin, users: list[LegacyLogin], reset: bool
) -> CrmConnection:
    """Connect the admin's account (legacy) and map `users`; nothing when already connected,
    unless `reset`."""
    account = admin.account
    assert account is not None
    if reset:
        _forget(admin, account)
    existing = CrmConnection.objects.filter(account=account).first()
    if existing is not None:
        return existing
    connection = services.connection_legacy_connect(
        actor=admin,
        account=account,
        login_url=login_url,
        username=system.crm_username,
        password=system.password,
        security_token=system.security_token,
    )
    for login in users:
        member = account.users.get(username=login.engagement_username)
        services.connected_user_map(
            actor=admin,
            connection=connection,
            user=member,
            crm_username=login.crm_username,
            password=login.password,
            security_token=login.security_token,
        )
    return connection


@transaction.atomic
def _forget(admin: User, account: Account) -> None:
    connection = CrmConnection.objects.select_for_update().filter(account=account).first()
    if connection is None:
        return
    old = {"state": connection.state, "system_username": connection.system_username}
    ConnectedUser.objects.filter(account=account).delete()
    MigrationRun.objects.filter(account=account).delete()
    Outage.objects.filter(account=account).delete()
    connection.delete()
    tokens.tokens_forget(account.pk)  # this process's cache; the services' are told by the CRM
    audit_record(
        account=account,
        actor=admin,
        action="connect.demo_reset",
        target=old["system_username"],
        old=old,
        new=None,
    )
