"""The Engagement cast: two accounts, an Administrator and a Marketing User in the first."""

from __future__ import annotations

import pytest
from django.test import Client

from tandem.engagement.accounts.models import Account, Role, User
from tests.engagement.factories import PASSWORD, AccountFactory, UserFactory

__all__ = ["PASSWORD", "client_for", "make_user"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: object) -> None:
    # Argon2 is right for production and needlessly slow for a test suite.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: object, tmp_path: object) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"  # type: ignore[attr-defined, operator]


def make_user(account: Account | None, username: str, role: str) -> User:
    user: User = UserFactory(account=account, username=username, role=role)
    return user


@pytest.fixture
def account(db: None) -> Account:
    return AccountFactory(name="Northwind")


@pytest.fixture
def other_account(db: None) -> Account:
    return AccountFactory(name="Contoso")


@pytest.fixture
def admin(account: Account) -> User:
    return make_user(account, "ada", Role.ADMINISTRATOR)


@pytest.fixture
def marketer(account: Account) -> User:
    return make_user(account, "mia", Role.MARKETING_USER)


@pytest.fixture
def outsider(other_account: Account) -> User:
    return make_user(other_account, "olga", Role.ADMINISTRATOR)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(admin: User) -> Client:
    return client_for(admin)


@pytest.fixture
def marketer_client(marketer: User) -> Client:
    return client_for(marketer)


@pytest.fixture
def outsider_client(outsider: User) -> Client:
    return client_for(outsider)
