"""A fake CRM for single pieces of Connect (the end-to-end tests use the real one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect import services
from tandem.engagement.connect.client import (
    ApiUsage,
    CrmError,
    CrmIdentity,
    CrmResult,
    CrmToken,
)
from tandem.engagement.connect.models import ConnectedUser, ConnectionState, CrmConnection
from tandem.engagement.connect.tokens import tokens_forget
from tests.engagement.sends import conftest as sends_fixtures

MC_CONSUMER_KEY = "3MVG9test"


@pytest.fixture
def mc_consumer_key(settings: Any) -> str:
    """The deployment's Marketing Cloud app has a consumer key (Connect's pages need one)."""
    settings.MC_CONSUMER_KEY = MC_CONSUMER_KEY
    return MC_CONSUMER_KEY


ORG = "00D000000000001AAA"
NOT_ADMIN_APPROVED = CrmError(
    "invalid_app_access", "user is not admin approved to access this app", 400
)


@dataclass
class FakeCrm:
    """Users by username; `jwt_refusals` maps a username to the error its JWT login gets."""

    users: dict[str, CrmIdentity] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    jwt_refusals: dict[str, CrmError] = field(default_factory=dict)
    code_identity: str = ""
    # The web-server flow: what each code exchange sent; codes the CRM holds used or expired.
    exchanges: list[dict[str, str]] = field(default_factory=list)
    spent_codes: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)

    def add(self, username: str, user_id: str, org: str = ORG, password: str = "pw") -> None:
        self.users[username] = CrmIdentity(user_id, org, username, username, username, True)
        self.passwords[username] = password

    def _token(self, username: str) -> CrmToken:
        """As the CRM answers: the identity URL names the user's org and id."""
        known = self.users.get(username)
        ids = f"{known.org_id}/{known.user_id}" if known else f"{ORG}/{username}"
        return CrmToken(
            f"token-{username}", "https://acme.my.crm.test", f"https://crm.test/id/{ids}", 1e12
        )

    def password_login(self, *, token_url: str, username: str, password: str) -> CrmToken:
        self.calls.append(f"password {username}")
        if self.passwords.get(username) != password:
            raise CrmError("invalid_grant", "authentication failure", 400)
        return self._token(username)

    def jwt_login(self, *, token_url: str, audience: str, username: str) -> CrmToken:
        self.calls.append(f"jwt {username}")
        if username in self.jwt_refusals:
            raise self.jwt_refusals[username]
        if username not in self.users:
            raise CrmError("invalid_grant", "user hasn't approved this consumer", 400)
        return self._token(username)

    def code_exchange(
        self, *, token_url: str, code: str, verifier: str, redirect_uri: str
    ) -> CrmToken:
        self.calls.append("code")
        self.exchanges.append({"code": code, "verifier": verifier, "redirect_uri": redirect_uri})
        if code in self.spent_codes:
            raise CrmError("invalid_grant", "expired authorization code", 400)
        return self._token(self.code_identity)

    def identity(self, *, token: CrmToken) -> CrmIdentity:
        return self.users[token.access_token.removeprefix("token-")]

    def query(self, *, token: CrmToken, soql: str) -> CrmResult:
        return CrmResult({"records": []}, ApiUsage(10, 15000))

    def record_create(self, *, token: CrmToken, sobject: str, fields: dict[str, Any]) -> CrmResult:
        self.records.append({"sobject": sobject, **fields})
        return CrmResult({"id": "a00000000000001AAA", "success": True}, ApiUsage(11, 15000))


@pytest.fixture(autouse=True)
def crm_url_setting(settings: Any) -> None:
    """The deployment's CRM, whose host (and My Domain hosts) Connect alone may reach."""
    settings.CRM_URL = "https://crm.test"


@pytest.fixture
def crm(settings: Any, monkeypatch: pytest.MonkeyPatch) -> FakeCrm:
    fake = FakeCrm()
    fake.add("system@acme.test", "005000000000001AAA", password="pwTOKEN")
    fake.add("maria@acme.test", "005000000000002AAA", password="pwTOKEN")
    fake.add("mark@acme.test", "005000000000003AAA", password="pwTOKEN")
    settings.CONNECT_CRM_CLIENT = lambda: fake
    return fake


@pytest.fixture
def legacy(crm: FakeCrm, admin: User, marketer: User, account: Account) -> CrmConnection:
    """The account connected in legacy mode, with two users mapped."""
    tokens_forget(account.pk)
    connection = services.connection_legacy_connect(
        actor=admin,
        account=account,
        login_url="https://crm.test",
        username="system@acme.test",
        password="pw",
        security_token="TOKEN",
    )
    services.connected_user_map(
        actor=admin,
        connection=connection,
        user=marketer,
        crm_username="maria@acme.test",
        password="pw",
        security_token="TOKEN",
    )
    other = User.objects.create_user(username="max", password="x", account=account)
    services.connected_user_map(
        actor=admin,
        connection=connection,
        user=other,
        crm_username="mark@acme.test",
        password="pw",
        security_token="TOKEN",
    )
    return connection


@pytest.fixture
def upgraded(legacy: CrmConnection, crm: FakeCrm, admin: User) -> CrmConnection:
    """Connected App with the window open: maria reconnected, mark (user max) pending."""
    from tandem.engagement.connect.services.migration import users_migrate

    crm.jwt_refusals["mark@acme.test"] = NOT_ADMIN_APPROVED
    now = timezone.now()
    CrmConnection.objects.filter(pk=legacy.pk).update(
        state=ConnectionState.CONNECTED_APP,
        upgraded_at=now,
        window_ends_at=now + timedelta(days=14),
    )
    legacy.refresh_from_db()
    users_migrate(actor=admin, connection=legacy)
    return legacy


def mappings(account: Account) -> dict[str, str]:
    return dict(ConnectedUser.objects.filter(account=account).values_list("crm_username", "state"))


audience = sends_fixtures.audience
email = sends_fixtures.email


@pytest.fixture(autouse=True)
def migrations_by_the_worker_task(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A queued Migrate Existing Users run is carried out by its Celery task, at once and in
    this process (a test's transaction never commits, so the service's on_commit enqueue
    would never fire). The ids of the runs enqueued, in order."""
    from tandem.engagement.connect.services import migration
    from tandem.engagement.connect.tasks import migrate_users_task

    enqueued: list[int] = []

    def enqueue(run_id: int) -> None:
        enqueued.append(run_id)
        migrate_users_task.apply(args=(run_id,), throw=True)

    monkeypatch.setattr(migration, "migration_enqueue", enqueue)
    return enqueued
