"""IPv4-or-IPv6 ranges (connected apps' trusted ranges): parsing, validation, membership."""

from __future__ import annotations

import pytest

from tandem.crm.orgs.iprange import any_range_errors, ip_in_any_range, parse_ip


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("10.0.0.1", "10.0.0.1"),
        (" 10.0.0.1 ", "10.0.0.1"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("::ffff:10.0.0.1", "10.0.0.1"),
        ("fe80::1%eth0", None),
        ("10.0.0.256", None),
        ("010.0.0.1", None),
        ("", None),
        ("example.com", None),
    ],
)
def test_parse_ip(value, parsed):
    result = parse_ip(value)

    assert (None if result is None else str(result)) == parsed


@pytest.mark.parametrize(
    ("start", "end", "errors"),
    [
        ("10.0.0.1", "10.0.0.1", {}),
        ("2001:db8::", "2001:db8::ffff", {}),
        ("nope", "10.0.0.1", {"start_address": "Enter a valid IPv4 or IPv6 address."}),
        ("10.0.0.1", "", {"end_address": "Enter a valid IPv4 or IPv6 address."}),
        (
            "10.0.0.9",
            "10.0.0.1",
            {"end_address": "The end address must not come before the start address."},
        ),
        (
            "10.0.0.1",
            "2001:db8::1",
            {"end_address": "The start and end addresses must both be IPv4 or both IPv6."},
        ),
    ],
)
def test_any_range_errors(start, end, errors):
    assert any_range_errors(start, end) == errors


RANGES = [("10.0.0.0", "10.0.0.255"), ("2001:db8::", "2001:db8::ff")]


@pytest.mark.parametrize(
    ("ip", "inside"),
    [
        ("10.0.0.0", True),
        ("10.0.0.255", True),
        ("10.0.1.0", False),
        ("::ffff:10.0.0.7", True),
        ("2001:db8::ff", True),
        ("2001:db8::100", False),
        ("::a00:5", False),  # same integer as 10.0.0.5, other version
        ("", False),
        ("garbage", False),
    ],
)
def test_ip_in_any_range(ip, inside):
    assert ip_in_any_range(ip, RANGES) is inside
