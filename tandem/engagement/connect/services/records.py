"""Connect's bookkeeping: the audit trail, calls to the CRM per day and user, its allocation."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

from django.db import connection
from django.db.models import F
from django.utils import timezone

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.accounts.services import audit_record
from tandem.engagement.connect.models import ApiCallDay, ApiFamily, ConnectionState, CrmConnection


def audit(
    connection_or_account: CrmConnection | Account,
    actor: User | None,
    action: str,
    target: str,
    old: object = None,
    new: object = None,
) -> None:
    account = (
        connection_or_account.account
        if isinstance(connection_or_account, CrmConnection)
        else connection_or_account
    )
    audit_record(account=account, actor=actor, action=action, target=target, old=old, new=new)


def describe(connection: CrmConnection) -> dict[str, object]:
    """What the audit trail keeps of the connection (never a secret)."""
    return {
        "state": connection.state,
        "login_url": connection.login_url,
        "instance_url": connection.instance_url,
        "org_id": connection.org_id,
        "system_username": connection.system_username,
        "system_user_id": connection.system_user_id,
    }


def usage_record(
    account_id: int, username: str, *, family: str = ApiFamily.REST, counted: bool | None = None
) -> None:
    """Count one call of Connect to the CRM for today, `username` and its API family.

    `counted` says whether the call counts against the CRM's daily limit; unset, a Bulk call
    does and a REST call does only under legacy authentication (connected-app calls are
    exempt)."""
    if counted is None:
        counted = family == ApiFamily.BULK or _legacy(account_id)
    key = {
        "account_id": account_id,
        "day": timezone.now().date(),
        "crm_username": username,
        "api_family": family,
        "counts_against_limit": counted,
    }
    if not ApiCallDay.objects.filter(**key).update(calls=F("calls") + 1):
        ApiCallDay.objects.get_or_create(**key, defaults={"calls": 1})


def _legacy(account_id: int) -> bool:
    return CrmConnection.objects.filter(
        account_id=account_id, state=ConnectionState.LEGACY
    ).exists()


def usage_record_many(account_id: int, usernames: list[str]) -> None:
    """Count one exempt REST call per username for today, in one statement (Migrate Existing
    Users runs under connected-app authentication)."""
    if not usernames:
        return
    day = connection.ops.adapt_datefield_value(timezone.now().date())
    counts = Counter(usernames)
    params: list[int | str | bool | None] = []
    for username, calls in counts.items():
        params += [account_id, day, username, ApiFamily.REST.value, False, calls]
    with connection.cursor() as cursor:
        cursor.execute(_usage_upsert_sql(len(counts)), params)


@lru_cache(maxsize=8)
def _usage_upsert_sql(rows: int) -> str:
    table = connection.ops.quote_name(ApiCallDay._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * rows)
    key = "account_id, day, crm_username, api_family, counts_against_limit"
    return (
        f"INSERT INTO {table} ({key}, calls) VALUES {values} "  # noqa: S608
        f"ON CONFLICT ({key}) DO UPDATE SET calls = {table}.calls + excluded.calls"
    )


def limit_record(connection: CrmConnection, used: int, limit: int) -> None:
    CrmConnection.objects.filter(pk=connection.pk).update(
        crm_api_used=used, crm_api_max=limit, crm_api_seen_at=timezone.now()
    )
