"""Login policies: profile login IP ranges and hours, Network Access, the client's address.

Pure functions over rows already loaded (or loaded here through the user's profile), so they
can be tested with a frozen clock and called from login and from every OAuth grant alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Protocol

from tandem.core.net import client_ip
from tandem.crm.orgs.iprange import ip_in_range
from tandem.crm.orgs.models import Org
from tandem.crm.users.models import ProfileLoginHours, User

__all__ = ["client_ip"]  # the caller's address (tandem.core.net), used beside the policies


class AddressRange(Protocol):
    start_address: str
    end_address: str


def ip_in_ranges(ip: str, ranges: Iterable[AddressRange]) -> bool:
    """True when `ip` lies in any of `ranges`."""
    return any(ip_in_range(ip, str(r.start_address), str(r.end_address)) for r in ranges)


def user_ip_allowed(*, user: User, ip: str) -> bool:
    """The profile's login IP ranges: with none, every address is allowed."""
    ranges = list(user.profile.login_ip_ranges.all())
    return not ranges or ip_in_ranges(ip, ranges)


def within_login_hours(hours: Iterable[ProfileLoginHours], at: datetime) -> bool:
    """True when `at` (UTC) falls in that weekday's window; a day without a row is open."""
    moment = at.astimezone(UTC)
    minute = moment.hour * 60 + moment.minute
    for row in hours:
        if row.weekday == moment.weekday():
            # start == end blocks the day; the window is [start, end).
            return row.start_minutes <= minute < row.end_minutes
    return True


def user_within_login_hours(*, user: User, at: datetime) -> bool:
    """The profile's login hours, in the org's time zone (UTC for now)."""
    return within_login_hours(user.profile.login_hours.all(), at)


def ip_is_trusted(*, org: Org, ip: str) -> bool:
    """Network Access: logins from these ranges need no security token; they never block."""
    return ip_in_ranges(ip, org.trusted_ip_ranges.all())
