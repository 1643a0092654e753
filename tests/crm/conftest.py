"""A small named cast for CRM tests: an org admin, a system user, a marketing user, an outsider."""

from __future__ import annotations

import pytest
from django.test import Client

from tandem.crm.orgs.models import Org
from tandem.crm.users.models import Profile, ProfileName, User
from tests.crm.factories import PASSWORD, OrgFactory, UserFactory

__all__ = ["PASSWORD", "make_user", "profile", "signed_in"]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: pytest.FixtureRequest) -> None:
    """Argon2 is the real hasher; tests that do not test hashing use a fast one."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


def signed_in(user: User | None = None, **client_kwargs: object) -> Client:
    """A browser on the CRM's host, signed in as `user` (anonymous without one)."""
    client = Client(**{"HTTP_HOST": "localhost", **client_kwargs})
    if user is not None:
        client.force_login(user)
    return client


def profile(org: Org, name: str) -> Profile:
    return Profile.objects.get(org=org, name=name)


def make_user(
    org: Org, username: str, profile_name: str = ProfileName.STANDARD_USER, **extra: object
) -> User:
    return UserFactory(org=org, username=username, profile_name=profile_name, **extra)


@pytest.fixture
def org(db: None) -> Org:
    return OrgFactory(name="Acme", my_domain="acme")


@pytest.fixture
def other_org(db: None) -> Org:
    return OrgFactory(name="Globex", my_domain="globex")


@pytest.fixture
def admin(org: Org) -> User:
    return make_user(org, "admin@acme.test", ProfileName.SYSTEM_ADMINISTRATOR)


@pytest.fixture
def system_user(org: Org) -> User:
    return make_user(
        org, "system@acme.test", ProfileName.SYSTEM_ADMINISTRATOR, is_marketing_user=True
    )


@pytest.fixture
def marketer(org: Org) -> User:
    return make_user(org, "marketer@acme.test", ProfileName.MARKETING_USER, is_marketing_user=True)


@pytest.fixture
def standard_user(org: Org) -> User:
    return make_user(org, "standard@acme.test")


@pytest.fixture
def outsider(other_org: Org) -> User:
    """An administrator of another org."""
    return make_user(other_org, "admin@globex.test", ProfileName.SYSTEM_ADMINISTRATOR)
