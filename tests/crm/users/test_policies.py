"""Profile login IP ranges, login hours (frozen clock), Network Access and the client address."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.test import RequestFactory

from tandem.crm.orgs.iprange import ip_in_range, range_errors
from tandem.crm.orgs.models import Org, TrustedIpRange
from tandem.crm.users.models import ProfileLoginHours, ProfileLoginIpRange, User
from tandem.crm.users.policies import (
    client_ip,
    ip_is_trusted,
    user_ip_allowed,
    user_within_login_hours,
    within_login_hours,
)


@pytest.mark.parametrize(
    ("ip", "start", "end", "inside"),
    [
        ("10.0.0.5", "10.0.0.0", "10.0.0.255", True),
        ("10.0.0.0", "10.0.0.0", "10.0.0.255", True),  # start is inclusive
        ("10.0.0.255", "10.0.0.0", "10.0.0.255", True),  # end is inclusive
        ("10.0.1.0", "10.0.0.0", "10.0.0.255", False),
        ("9.255.255.255", "10.0.0.0", "10.0.0.255", False),
        ("192.168.1.1", "192.168.1.1", "192.168.1.1", True),
        ("::1", "0.0.0.0", "255.255.255.255", False),  # IPv6 callers never match IPv4 ranges
        ("not-an-ip", "0.0.0.0", "255.255.255.255", False),
        ("", "0.0.0.0", "255.255.255.255", False),
    ],
)
def test_ip_in_range(ip: str, start: str, end: str, inside: bool) -> None:
    assert ip_in_range(ip, start, end) is inside


BACKWARDS = "The end address must not come before the start address."


@pytest.mark.parametrize(
    ("start", "end", "errors"),
    [
        ("10.0.0.0", "10.0.0.255", {}),
        ("10.0.0.9", "10.0.0.1", {"end_address": BACKWARDS}),
        ("10.0.0", "10.0.0.1", {"start_address": "Enter a valid IPv4 address."}),
        ("10.0.0.1", "fe80::1", {"end_address": "Enter a valid IPv4 address."}),
        ("0.0.0.0", "1.255.255.255", {}),  # exactly a /7
        ("0.0.0.0", "2.0.0.0", {"end_address": "A range may hold at most 33,554,432 addresses."}),
    ],
)
def test_range_errors(start: str, end: str, errors: dict[str, str]) -> None:
    assert range_errors(start, end, max_addresses=33_554_432) == errors


def test_profile_without_ranges_allows_every_address(standard_user: User) -> None:
    assert user_ip_allowed(user=standard_user, ip="203.0.113.9") is True


@pytest.mark.parametrize(
    ("ip", "allowed"),
    [("10.1.2.3", True), ("192.168.0.7", True), ("203.0.113.9", False), ("", False)],
)
def test_profile_ranges_allow_only_their_addresses(
    standard_user: User, ip: str, allowed: bool
) -> None:
    ProfileLoginIpRange.objects.create(
        profile=standard_user.profile, start_address="10.0.0.0", end_address="10.255.255.255"
    )
    ProfileLoginIpRange.objects.create(
        profile=standard_user.profile, start_address="192.168.0.0", end_address="192.168.0.255"
    )

    assert user_ip_allowed(user=standard_user, ip=ip) is allowed


def hours(weekday: int, start_hour: int, end_hour: int) -> ProfileLoginHours:
    return ProfileLoginHours(
        weekday=weekday, start_minutes=start_hour * 60, end_minutes=end_hour * 60
    )


MONDAY_9_TO_17 = [hours(0, 9, 17)]


@pytest.mark.parametrize(
    ("rows", "at", "allowed"),
    [
        ([], datetime(2026, 3, 2, 3, 0, tzinfo=UTC), True),  # no rows: no restriction
        (MONDAY_9_TO_17, datetime(2026, 3, 2, 9, 0, tzinfo=UTC), True),  # Monday 09:00
        (MONDAY_9_TO_17, datetime(2026, 3, 2, 16, 59, tzinfo=UTC), True),
        (MONDAY_9_TO_17, datetime(2026, 3, 2, 17, 0, tzinfo=UTC), False),  # end is exclusive
        (MONDAY_9_TO_17, datetime(2026, 3, 2, 8, 59, tzinfo=UTC), False),
        (MONDAY_9_TO_17, datetime(2026, 3, 3, 3, 0, tzinfo=UTC), True),  # Tuesday: no row
        ([hours(6, 0, 24)], datetime(2026, 3, 8, 23, 59, tzinfo=UTC), True),  # whole Sunday
        ([hours(0, 10, 10)], datetime(2026, 3, 2, 10, 0, tzinfo=UTC), False),  # start = end
        ([hours(0, 0, 0)], datetime(2026, 3, 2, 0, 0, tzinfo=UTC), False),
    ],
)
def test_within_login_hours(rows: list[ProfileLoginHours], at: datetime, allowed: bool) -> None:
    assert within_login_hours(rows, at) is allowed


def test_login_hours_use_utc_whatever_the_input_zone() -> None:
    from zoneinfo import ZoneInfo

    # 10:30 in Berlin (winter, UTC+1) is 09:30 UTC, inside Monday 09-17.
    at = datetime(2026, 3, 2, 10, 30, tzinfo=ZoneInfo("Europe/Berlin"))

    assert within_login_hours(MONDAY_9_TO_17, at) is True


@time_machine.travel(datetime(2026, 3, 2, 18, 0, tzinfo=UTC), tick=False)
def test_user_login_hours_read_the_profile(standard_user: User) -> None:
    ProfileLoginHours.objects.create(
        profile=standard_user.profile, weekday=0, start_minutes=540, end_minutes=1020
    )

    assert user_within_login_hours(user=standard_user, at=datetime.now(UTC)) is False


@pytest.mark.parametrize(("ip", "trusted"), [("198.51.100.7", True), ("198.51.101.1", False)])
def test_network_access_ranges_mark_addresses_trusted(org: Org, ip: str, trusted: bool) -> None:
    TrustedIpRange.objects.create(
        org=org, start_address="198.51.100.0", end_address="198.51.100.255"
    )

    assert ip_is_trusted(org=org, ip=ip) is trusted


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        ([], "203.0.113.5", "1.2.3.4", "203.0.113.5"),  # no trusted proxy: header ignored
        (["10.0.0.1"], "203.0.113.5", "1.2.3.4", "203.0.113.5"),  # not from the proxy
        (["10.0.0.1"], "10.0.0.1", "1.2.3.4", "1.2.3.4"),
        (["10.0.0.0/8"], "10.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.2", "1.2.3.4"),  # nearest non-proxy
        (["10.0.0.1"], "10.0.0.1", "", "10.0.0.1"),
        (["10.0.0.1"], "10.0.0.1", "garbage", "10.0.0.1"),
    ],
)
def test_client_ip_believes_forwarded_for_only_from_trusted_proxies(
    settings: object, proxies: list[str], remote: str, forwarded: str, expected: str
) -> None:
    settings.TRUSTED_PROXIES = proxies  # type: ignore[attr-defined]
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected
