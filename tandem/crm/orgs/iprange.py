"""Address ranges as Setup stores them: inclusive start and end addresses (IPv4 for Network
Access and profiles; either version for a connected app's trusted ranges)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Salesforce's UI refuses Network Access ranges wider than a /7.
MAX_RANGE_ADDRESSES = 33_554_432


def parse_ipv4(value: str) -> ipaddress.IPv4Address | None:
    """The address, or None when `value` is not an IPv4 address."""
    try:
        return ipaddress.IPv4Address(value.strip())
    except (ipaddress.AddressValueError, ValueError):
        return None


def range_errors(start: str, end: str, *, max_addresses: int | None = None) -> dict[str, str]:
    """Field errors for a range, keyed by `start_address` / `end_address`; empty when valid."""
    first, last = parse_ipv4(start or ""), parse_ipv4(end or "")
    errors: dict[str, str] = {}
    if first is None:
        errors["start_address"] = "Enter a valid IPv4 address."
    if last is None:
        errors["end_address"] = "Enter a valid IPv4 address."
    if first is None or last is None:
        return errors
    if first > last:
        errors["end_address"] = "The end address must not come before the start address."
    elif max_addresses is not None and int(last) - int(first) + 1 > max_addresses:
        errors["end_address"] = f"A range may hold at most {max_addresses:,} addresses."
    return errors


def ip_in_range(ip: str, start: str, end: str) -> bool:
    """True when `ip` lies between `start` and `end`, inclusive (False for non-IPv4 input)."""
    address, first, last = parse_ipv4(ip or ""), parse_ipv4(start), parse_ipv4(end)
    if address is None or first is None or last is None:
        return False
    return first <= address <= last


def parse_ip(value: str) -> IPAddress | None:
    """The IPv4 or IPv6 address (an IPv4-mapped IPv6 address as its IPv4 form), or None."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if getattr(address, "scope_id", None):
        return None  # fe80::1%eth0 names an interface of this host, not a client
    # A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; ranges are typed as IPv4.
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def any_range_errors(start: str, end: str) -> dict[str, str]:
    """Field errors for an IPv4 or IPv6 range (both ends one version, start ≤ end)."""
    first, last = parse_ip(start or ""), parse_ip(end or "")
    errors: dict[str, str] = {}
    if first is None:
        errors["start_address"] = "Enter a valid IPv4 or IPv6 address."
    if last is None:
        errors["end_address"] = "Enter a valid IPv4 or IPv6 address."
    if first is None or last is None:
        return errors
    if first.version != last.version:
        errors["end_address"] = "The start and end addresses must both be IPv4 or both IPv6."
    elif int(first) > int(last):
        errors["end_address"] = "The end address must not come before the start address."
    return errors


def ip_in_any_range(ip: str, ranges: Iterable[tuple[str, str]]) -> bool:
    """True when `ip` (IPv4 or IPv6) lies in any (start, end) pair of its own version."""
    address = parse_ip(ip or "")
    return address is not None and any(
        _contains(parse_ip(str(start)), parse_ip(str(end)), address) for start, end in ranges
    )


def _contains(first: IPAddress | None, last: IPAddress | None, address: IPAddress) -> bool:
    if first is None or last is None or not first.version == last.version == address.version:
        return False
    return int(first) <= int(address) <= int(last)
