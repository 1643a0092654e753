"""Password logins: statuses, Login History, lockout, security tokens (frozen clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tandem.crm.orgs.models import Org, TrustedIpRange
from tandem.crm.users.models import (
    LoginHistory,
    LoginStatus,
    ProfileLoginHours,
    ProfileLoginIpRange,
    User,
)
from tandem.crm.users.services import (
    security_token_matches,
    security_token_reset,
    user_authenticate_password,
)
from tests.crm.conftest import PASSWORD
from tests.secrets_at_rest import assert_nowhere_in_database

MONDAY_NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
IP = "203.0.113.10"


def login(user: User, password: str = PASSWORD, **kwargs: object) -> str:
    kwargs.setdefault("ip", IP)
    kwargs.setdefault("now", MONDAY_NOON)
    return user_authenticate_password(username=user.username, password=password, **kwargs).status  # type: ignore[arg-type]


def test_correct_password_succeeds_and_is_recorded(standard_user: User) -> None:
    result = user_authenticate_password(
        username="Standard@Acme.test", password=PASSWORD, ip=IP, now=MONDAY_NOON
    )

    assert result.ok
    assert result.user == standard_user
    row = LoginHistory.objects.get()
    assert (row.user, row.status, row.source_ip, row.login_type) == (
        standard_user,
        "Success",
        IP,
        "Application",
    )


def test_unknown_username_fails_without_a_history_row(db: None) -> None:
    result = user_authenticate_password(username="nobody@x.test", password="x", ip=IP)

    assert result.status == LoginStatus.INVALID_PASSWORD
    assert result.user is None
    assert not LoginHistory.objects.exists()


def test_login_on_another_orgs_my_domain_is_refused(standard_user: User, other_org: Org) -> None:
    result = user_authenticate_password(
        username=standard_user.username, password=PASSWORD, ip=IP, org=other_org
    )

    assert result.user is None
    assert not LoginHistory.objects.exists()


@pytest.mark.parametrize(
    ("setup", "status"),
    [
        (lambda u: None, "Success"),
        (lambda u: setattr(u, "is_active", False), "Failed: User inactive"),
        (lambda u: setattr(u, "is_frozen", True), "Failed: User frozen"),
        (
            lambda u: ProfileLoginHours.objects.create(
                profile=u.profile, weekday=0, start_minutes=540, end_minutes=720
            ),
            "Failed: Login hours restricted",
        ),  # Monday 09-12: noon is outside
        (
            lambda u: ProfileLoginHours.objects.create(
                profile=u.profile, weekday=0, start_minutes=540, end_minutes=780
            ),
            "Success",
        ),
        (
            lambda u: ProfileLoginIpRange.objects.create(
                profile=u.profile, start_address="10.0.0.0", end_address="10.0.0.255"
            ),
            "Failed: IP restricted",
        ),
        (
            lambda u: ProfileLoginIpRange.objects.create(
                profile=u.profile, start_address="203.0.113.0", end_address="203.0.113.255"
            ),
            "Success",
        ),
    ],
)
def test_login_policies_give_their_status(standard_user: User, setup: object, status: str) -> None:
    setup(standard_user)  # type: ignore[operator]
    standard_user.save()

    assert login(standard_user) == status
    assert LoginHistory.objects.get().status == status


def test_wrong_password_is_invalid_password(standard_user: User) -> None:
    assert login(standard_user, "wrong") == "Invalid Password"

    standard_user.refresh_from_db()
    assert standard_user.failed_login_count == 1


@pytest.mark.parametrize("attempts", [1, 3, 5])
def test_lockout_after_the_configured_number_of_failures(
    standard_user: User, settings: object, attempts: int
) -> None:
    settings.CRM_LOCKOUT_ATTEMPTS = attempts  # type: ignore[attr-defined]

    statuses = [login(standard_user, "wrong") for _ in range(attempts)]

    assert statuses[:-1] == ["Invalid Password"] * (attempts - 1)
    assert statuses[-1] == "Password Lockout"
    assert login(standard_user) == "Password Lockout"  # even the right password


def test_lockout_ends_after_the_lockout_period(standard_user: User, settings: object) -> None:
    settings.CRM_LOCKOUT_ATTEMPTS = 2  # type: ignore[attr-defined]
    settings.CRM_LOCKOUT_MINUTES = 15  # type: ignore[attr-defined]
    with time_machine.travel(MONDAY_NOON, tick=False):
        login(standard_user, "wrong", now=None)
        login(standard_user, "wrong", now=None)
        assert login(standard_user, now=None) == "Password Lockout"

    with time_machine.travel(MONDAY_NOON + timedelta(minutes=14), tick=False):
        assert login(standard_user, now=None) == "Password Lockout"

    with time_machine.travel(MONDAY_NOON + timedelta(minutes=15, seconds=1), tick=False):
        assert login(standard_user, now=None) == "Success"
    standard_user.refresh_from_db()
    assert (standard_user.failed_login_count, standard_user.locked_until) == (0, None)


def test_success_resets_the_failure_count(standard_user: User) -> None:
    login(standard_user, "wrong")

    login(standard_user)

    standard_user.refresh_from_db()
    assert standard_user.failed_login_count == 0


def test_security_token_is_stored_hashed_and_matches(standard_user: User) -> None:
    token = security_token_reset(user=standard_user)

    standard_user.refresh_from_db()
    assert len(token) == 24
    assert security_token_matches(user=standard_user, token=token)
    assert_nowhere_in_database(token)
    other_last = "y" if token[-1] == "x" else "x"
    assert not security_token_matches(user=standard_user, token=token[:-1] + other_last)


def test_reset_invalidates_the_old_token(standard_user: User) -> None:
    old = security_token_reset(user=standard_user)

    security_token_reset(user=standard_user)

    assert not security_token_matches(user=standard_user, token=old)


def test_api_login_outside_trusted_ranges_needs_the_token(standard_user: User) -> None:
    token = security_token_reset(user=standard_user)

    assert login(standard_user, api=True) == "Failed: API security token required"
    assert login(standard_user, PASSWORD + token, api=True) == "Success"
    assert login(standard_user, PASSWORD + "x" * 24, api=True) == (
        "Failed: API security token required"
    )


def test_api_login_from_a_trusted_range_needs_no_token(standard_user: User, org: Org) -> None:
    TrustedIpRange.objects.create(org=org, start_address=IP, end_address=IP)

    assert login(standard_user, api=True) == "Success"


def test_browser_login_never_needs_the_token(standard_user: User) -> None:
    security_token_reset(user=standard_user)

    assert login(standard_user) == "Success"


def test_passwords_are_hashed_with_argon2(org: Org, settings: object) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]  # type: ignore[attr-defined]
    from tests.crm.conftest import make_user

    user = make_user(org, "argon@acme.test")

    assert user.password.startswith("argon2$")
    assert PASSWORD not in user.password


def test_failures_from_one_address_throttle_it_whatever_the_usernames(
    standard_user: User, settings: object
) -> None:
    settings.CRM_LOGIN_THROTTLE_ATTEMPTS = 3  # type: ignore[attr-defined]
    for name in ("a@x.test", "b@x.test", "c@x.test"):
        user_authenticate_password(username=name, password="guess", ip=IP)

    throttled = login(standard_user)
    elsewhere = login(standard_user, ip="198.51.100.1")

    assert throttled == "Login rate exceeded"
    assert elsewhere == "Success"
    assert LoginHistory.objects.filter(status="Login rate exceeded").count() == 1


def test_throttle_window_ends(standard_user: User, settings: object) -> None:
    settings.CRM_LOGIN_THROTTLE_ATTEMPTS = 1  # type: ignore[attr-defined]
    settings.CRM_LOCKOUT_MINUTES = 15  # type: ignore[attr-defined]
    with time_machine.travel(MONDAY_NOON, tick=False):
        user_authenticate_password(username="a@x.test", password="guess", ip=IP)
        assert login(standard_user, now=None) == "Login rate exceeded"

    with time_machine.travel(MONDAY_NOON + timedelta(minutes=16), tick=False):
        assert login(standard_user, now=None) == "Success"


def test_login_history_stores_no_invalid_address(standard_user: User, org: Org) -> None:
    from tandem.crm.users.services import login_history_row

    row = login_history_row(
        org=org,
        user=standard_user,
        username=standard_user.username,
        source_ip="not-an-ip",
        login_type="Remote Access 2.0",
        application="App",
        status="Success",
    )
    row.save(force_insert=True)

    row.refresh_from_db()
    assert row.source_ip is None
