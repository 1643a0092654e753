"""Reads of Connect for one account: the integration page, API usage, outages, preflight."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import QuerySet, Sum
from django.utils import timezone

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect import services
from tandem.engagement.connect.client import CrmError
from tandem.engagement.connect.errors import ConnectError
from tandem.engagement.connect.models import (
    ApiCallDay,
    ApiFamily,
    ConnectedUser,
    ConnectionState,
    CrmConnection,
    MigrationRun,
    Outage,
    UserConnectionState,
)
from tandem.engagement.sends.models import CRM_AUDIENCE_KINDS, Send, SendStatus


def crm_connection_get(*, account: Account) -> CrmConnection | None:
    return CrmConnection.objects.filter(account=account).first()


def connected_user_list(*, account: Account) -> QuerySet[ConnectedUser]:
    return ConnectedUser.objects.filter(account=account).select_related("user")


@dataclass(frozen=True)
class UserConnectionRow:
    """One Engagement user's connection to the CRM, mapped or not."""

    engagement_username: str
    crm_username: str
    state: str
    state_label: str
    last_error_code: str
    last_error_message: str
    days_left: int | None  # of the auto-connection window, for users it still covers


def user_connection_rows(
    *, account: Account, connection: CrmConnection, user: User | None = None
) -> list[UserConnectionRow]:
    """Every user of the account (or only `user`) with their connection state."""
    people = account.users.order_by("username")
    if user is not None:
        people = people.filter(pk=user.pk)
    mappings = {m.user_id: m for m in connected_user_list(account=account)}
    left = days_left(connection) if connection.state == ConnectionState.CONNECTED_APP else None
    rows = []
    for person in people:
        mapping = mappings.get(person.pk)
        if mapping is None:
            state = UserConnectionState.DISCONNECTED
            rows.append(
                UserConnectionRow(person.get_username(), "", state, state.label, "", "", None)
            )
            continue
        rows.append(
            UserConnectionRow(
                person.get_username(),
                mapping.crm_username,
                mapping.state,
                mapping.get_state_display(),
                mapping.last_error_code,
                mapping.last_error_message,
                left if left and mapping.state == UserConnectionState.PENDING else None,
            )
        )
    return rows


def days_left(connection: CrmConnection) -> int | None:
    """Whole days left in the auto-connection window (None when no window is open)."""
    if connection.window_ends_at is None:
        return None
    remaining = connection.window_ends_at - timezone.now()
    return (
        max(0, remaining.days + (1 if remaining.seconds else 0))
        if remaining.total_seconds() > 0
        else 0
    )


@dataclass(frozen=True)
class UsageDay:
    day: date
    calls: int


def api_usage_by_day(*, account: Account, days: int = 7) -> list[UsageDay]:
    since = timezone.now().date() - timedelta(days=days - 1)
    rows = (
        ApiCallDay.objects.filter(account=account, day__gte=since)
        .values("day")
        .annotate(total=Sum("calls"))
        .order_by("-day")
    )
    return [UsageDay(row["day"], int(row["total"])) for row in rows]


USAGE_RANGES = (1, 7, 30)  # today, the CRM's own 7 days, a month


def usage_range(value: object) -> int:
    """The number of days asked for, when it is one of USAGE_RANGES; else 7."""
    text = str(value or "").strip()
    return int(text) if text.isdigit() and int(text) in USAGE_RANGES else 7


@dataclass(frozen=True)
class UsageUser:
    crm_username: str
    calls: int


def api_usage_by_user(*, account: Account, days: int = 7) -> list[UsageUser]:
    """Calls to the CRM per CRM user over the last `days` days (today included), most first."""
    since = timezone.now().date() - timedelta(days=days - 1)
    rows = (
        ApiCallDay.objects.filter(account=account, day__gte=since)
        .values("crm_username")
        .annotate(total=Sum("calls"))
        .order_by("-total", "crm_username")
    )
    return [UsageUser(row["crm_username"], int(row["total"])) for row in rows]


@dataclass(frozen=True)
class UsageFamily:
    """Calls of one API family, and how many of them count against the CRM's daily limit."""

    family: str
    label: str
    calls: int
    counted: int


def api_usage_by_family(*, account: Account, days: int = 7) -> list[UsageFamily]:
    """Calls to the CRM per API family (REST, SOAP, Bulk) over the last `days` days, the
    families without calls left out, most calls first."""
    since = timezone.now().date() - timedelta(days=days - 1)
    totals: dict[str, list[int]] = {}
    for row in (
        ApiCallDay.objects.filter(account=account, day__gte=since)
        .values("api_family", "counts_against_limit")
        .annotate(total=Sum("calls"))
    ):
        calls = totals.setdefault(row["api_family"], [0, 0])
        calls[0] += int(row["total"])
        calls[1] += int(row["total"]) if row["counts_against_limit"] else 0
    labels = dict(ApiFamily.choices)
    return sorted(
        (
            UsageFamily(family, str(labels.get(family, family)), *calls)
            for family, calls in totals.items()
        ),
        key=lambda usage: (-usage.calls, usage.family),
    )


def bulk_share(families: list[UsageFamily]) -> float:
    """The Bulk API's share of the calls, 0 to 1 (0 without calls)."""
    total = sum(usage.calls for usage in families)
    bulk = sum(usage.calls for usage in families if usage.family == ApiFamily.BULK)
    return bulk / total if total else 0.0


def outage_list(*, account: Account) -> QuerySet[Outage]:
    return Outage.objects.filter(account=account, ends_at__gt=timezone.now())


def outage_activities(*, outage: Outage) -> QuerySet[Send]:
    """Connect activities inside the window: scheduled sends to CRM audiences."""
    return Send.objects.filter(
        account_id=outage.account_id,
        audience_kind__in=CRM_AUDIENCE_KINDS,
        status__in=(SendStatus.SCHEDULED, SendStatus.HELD),
        scheduled_at__gte=outage.starts_at,
        scheduled_at__lt=outage.ends_at,
    )


def migration_run_get(*, account: Account, run_id: int) -> MigrationRun | None:
    """The account's run (another account's is not found)."""
    return MigrationRun.objects.filter(account=account, pk=run_id).first()


def migration_progress(*, run: MigrationRun) -> dict[str, Any]:
    """What the progress dialog and `tandem connect migrate-status` show. A run not done
    whose hold on the account has lapsed (or was freed by an error) is `interrupted`: the
    next Migrate Existing Users, or the periodic retry, takes it up again."""
    state = run.state
    if not run.done:
        claimed = (
            CrmConnection.objects.filter(account_id=run.account_id)
            .values_list("migration_claimed_at", flat=True)
            .first()
        )
        live = claimed is not None and claimed > timezone.now() - services.migration_lease()
        state = state if live and claimed == run.claim else "interrupted"
    return {
        "id": run.pk,
        "state": state,
        "done": run.done,
        "processed": run.processed,
        "total": run.total,
        "succeeded": run.succeeded,
        "failed": run.failed,
        "files": run.files,
    }


@dataclass(frozen=True)
class PreflightRow:
    """Whether auto-connection will succeed for one user, and why not."""

    crm_username: str
    engagement_username: str
    ready: bool
    error_code: str
    error_message: str


def preflight(*, connection: CrmConnection) -> list[PreflightRow]:
    """Try the JWT bearer flow for the system user and every legacy user; changes nothing."""
    client = services.crm_client()
    people = [(connection.system_username, "(system user)")] + [
        (m.crm_username, m.user.get_username())
        for m in connected_user_list(account=connection.account).filter(was_legacy=True)
    ]
    rows = []
    for crm_username, engagement_username in people:
        try:
            identity = client.identity(token=services.jwt_token(connection, crm_username, client))
            services.org_check(connection, identity)
        except ConnectError as exc:
            rows.append(
                PreflightRow(crm_username, engagement_username, False, "org_mismatch", exc.message)
            )
        except CrmError as exc:
            rows.append(
                PreflightRow(crm_username, engagement_username, False, exc.code, exc.message)
            )
        else:
            rows.append(PreflightRow(crm_username, engagement_username, True, "", ""))
    return rows
