"""API usage metering: per-minute buckets per org, user and connected app, rolling 24 hours."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from tandem.crm.api.auth import ApiPrincipal
from tandem.crm.api.db import relaxed_commit
from tandem.crm.api.models import ApiUsage
from tandem.crm.orgs.models import Org

WINDOW = dt.timedelta(hours=24)


def counts_against_limit(principal: ApiPrincipal, *, family: str) -> bool:
    """Whether a call of `family` ("rest" or "bulk") by this caller counts.

    The managed Salesforce Marketing Cloud app's REST calls do not count against the org's
    daily limit; its bulk-style tracking write-back does (docs/reference/connect.md, API
    usage). The app is
    known by its deployment key, never by its name, which any admin could copy.
    """
    return not (principal.is_marketing_cloud and family == "rest")


def _minute(now: dt.datetime) -> dt.datetime:
    return now.replace(second=0, microsecond=0)


def api_usage_used(*, org: Org, now: dt.datetime | None = None) -> int:
    """Calls counted against the org's limit in the last 24 hours."""
    since = _minute(now or timezone.now()) - WINDOW
    total = ApiUsage.objects.filter(org=org, counts_against_limit=True, minute__gt=since).aggregate(
        total=Sum("calls")
    )["total"]
    return int(total or 0)


def api_usage_record(
    *, principal: ApiPrincipal, counts: bool, now: dt.datetime | None = None
) -> None:
    """Add one call to its minute's bucket (one UPDATE; an INSERT the first time)."""
    key = {
        "org": principal.org,
        "minute": _minute(now or timezone.now()),
        "user": principal.user,
        "connected_app_id": principal.connected_app_id or "",
        "counts_against_limit": counts,
    }
    with relaxed_commit():
        if ApiUsage.objects.filter(**key).update(calls=F("calls") + 1):
            return
        try:
            with transaction.atomic():
                ApiUsage.objects.create(
                    **key, connected_app_name=principal.connected_app_name or "", calls=1
                )
        except IntegrityError:  # another process created the bucket first
            ApiUsage.objects.filter(**key).update(calls=F("calls") + 1)


@dataclass(frozen=True)
class UsageRow:
    label: str
    day: dt.date
    calls: int


def api_usage_by_app(*, org: Org, since: dt.datetime) -> dict[str, int]:
    """Counted calls per connected app name since `since` ("" for calls without an app)."""
    rows = (
        ApiUsage.objects.filter(org=org, minute__gt=since)
        .values("connected_app_name")
        .annotate(total=Sum("calls"))
    )
    return {r["connected_app_name"]: int(r["total"]) for r in rows}


def api_usage_daily(*, org: Org, by: str, days: int = 7) -> list[UsageRow]:
    """Calls per day over the last `days` days, per app ("app") or per user ("user")."""
    from django.db.models.functions import TruncDate

    today = timezone.now().date()
    since = dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time(), tzinfo=dt.UTC)
    label = "connected_app_name" if by == "app" else "user__username"
    rows = (
        ApiUsage.objects.filter(org=org, minute__gte=since)
        .annotate(day=TruncDate("minute"))
        .values(label, "day")
        .annotate(total=Sum("calls"))
        .order_by("day", label)
    )
    return [UsageRow(r[label] or "(no connected app)", r["day"], int(r["total"])) for r in rows]
