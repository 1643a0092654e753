"""A small named cast for CRM tests: an org admin, a system user, a marketing user, an outsider."""

from __future__ import annotations

import pytest

from tandem.crm.orgs.models import Org
from tandem.crm.orgs.services import org_create
from tandem.crm.users.models import Profile, ProfileName, User
from tandem.crm.users.services import user_create

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: pytest.FixtureRequest) -> None:
    """Argon2 is the real hasher; tests that do not test hashing use a fast one."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


def profile(org: Org, name: str) -> Profile:
    return Profile.objects.get(org=org, name=name)


def make_user(
    org: Org, username: str, profile_name: str = ProfileName.STANDARD_USER, **extra: object
) -> User:
    return user_create(
        org=org, actor=None, username=username, email=username, last_name=username.split("@")[0],
        profile=profile(org, profile_name), password=PASSWORD, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.fixture
def org(db: None) -> Org:
    return org_create(name="Acme", my_domain="acme")


@pytest.fixture
def other_org(db: None) -> Org:
    return org_create(name="Globex", my_domain="globex")


@pytest.fixture
def admin(org: Org) -> User:
    return make_user(org, "admin@acme.test", ProfileName.SYSTEM_ADMINISTRATOR)


@pytest.fixture
def system_user(org: Org) -> User:
    return make_user(org, "system@acme.test", ProfileName.SYSTEM_ADMINISTRATOR,
                     is_marketing_user=True)  # fmt: skip


@pytest.fixture
def marketer(org: Org) -> User:
    return make_user(org, "marketer@acme.test", ProfileName.MARKETING_USER,
                     is_marketing_user=True)  # fmt: skip


@pytest.fixture
def standard_user(org: Org) -> User:
    return make_user(org, "standard@acme.test")


@pytest.fixture
def outsider(other_org: Org) -> User:
    """An administrator of another org."""
    return make_user(other_org, "admin@globex.test", ProfileName.SYSTEM_ADMINISTRATOR)
