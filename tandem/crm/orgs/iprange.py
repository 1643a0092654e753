"""IPv4 address ranges as Setup stores them: inclusive start and end addresses."""

from __future__ import annotations

import ipaddress

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
