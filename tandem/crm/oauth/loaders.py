"""The token endpoint's hot reads as one plain SQL statement each, turned into model instances.

Read on every request (no cache, so every change applies to the next token at once). Plain SQL:
on this path Django spent longer compiling the ORM queries than PostgreSQL spent running them
(bench/RESULTS.md, ADR 0405)."""

from __future__ import annotations

from functools import lru_cache
from itertools import accumulate
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Field, Model

from tandem.crm.connectedapps.models import ConnectedApp
from tandem.crm.orgs.models import Org
from tandem.crm.users.models import Profile, ProfileLoginHours, ProfileLoginIpRange, User

M = TypeVar("M", bound=Model)


def _columns(model: type[Model], alias: str) -> list[str]:
    return [f'{alias}."{field.column}"' for field in model._meta.concrete_fields]


@lru_cache(maxsize=32)
def _converters(fields: tuple[Field[Any, Any], ...], vendor: str) -> list[tuple[int, Any, Any]]:
    """(position, converter, column) for each value the backend hands back in another type
    (SQLite's datetimes, for one), as the ORM's compiler would apply them."""
    found = []
    for position, field in enumerate(fields):
        column = field.get_col(field.model._meta.db_table)
        for convert in connection.ops.get_db_converters(column) + column.get_db_converters(
            connection
        ):
            found.append((position, convert, column))
    return found


def _converted(fields: tuple[Field[Any, Any], ...], row: tuple[Any, ...]) -> list[Any]:
    values = list(row)
    for position, convert, column in _converters(fields, connection.vendor):
        values[position] = convert(values[position], column, connection)
    return values


def _instance(model: type[M], row: tuple[Any, ...]) -> M:
    """A model instance from its concrete fields' values, as the ORM would build it."""
    fields = tuple(model._meta.concrete_fields)
    names = [field.attname for field in fields]
    return model.from_db(connection.alias, names, _converted(fields, row))


def _user_select_from() -> str:
    """SELECT the user, org, profile and the two restriction flags FROM the joined tables."""
    hours, ranges = ProfileLoginHours._meta.db_table, ProfileLoginIpRange._meta.db_table
    columns = _columns(User, "u") + _columns(Org, "o") + _columns(Profile, "p")
    return (
        f"SELECT {', '.join(columns)}, "  # noqa: S608 - table and column names, no input
        f"EXISTS (SELECT 1 FROM {hours} h WHERE h.profile_id = u.profile_id), "
        f"EXISTS (SELECT 1 FROM {ranges} r WHERE r.profile_id = u.profile_id) "
        "{policy_columns}"
        f"FROM {User._meta.db_table} u JOIN {Org._meta.db_table} o ON o.id = u.org_id "
        f"JOIN {Profile._meta.db_table} p ON p.id = u.profile_id "
    )


@lru_cache(maxsize=1)
def _user_sql() -> str:
    return _user_select_from().format(policy_columns="") + "WHERE u.username = %s LIMIT 1"


@lru_cache(maxsize=1)
def _user_and_policy_sql() -> str:
    """_user_sql() plus the app's policy row in the user's org and `user_pre_authorized`."""
    from tandem.crm.connectedapps.models import ConnectedAppPolicy

    policy_columns = (
        f", {', '.join(_columns(ConnectedAppPolicy, 'cp'))}, {_pre_authorized_sql('cp')} "
    )
    return (
        _user_select_from().format(policy_columns=policy_columns)
        + f"LEFT JOIN {ConnectedAppPolicy._meta.db_table} cp "
        "ON cp.app_id = %s AND cp.org_id = u.org_id WHERE u.username = %s LIMIT 1"
    )


def user_for_policy(username: str, *, app_id: str | None = None) -> User | None:
    """The user with their org and profile, and whether the profile restricts login hours or
    IP ranges (`has_login_hours`, `has_login_ip_ranges`), in one statement. With `app_id`,
    the same statement also reads that app's policy row in the user's org, which
    `policy_context` then uses instead of reading it again."""
    sql, params = (
        (_user_sql(), [username])
        if app_id is None
        else (_user_and_policy_sql(), [app_id, username])
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    sizes = [len(model._meta.concrete_fields) for model in (User, Org, Profile)]
    user = _instance(User, row[: sizes[0]])
    org = _instance(Org, row[sizes[0] : sizes[0] + sizes[1]])
    profile = _instance(Profile, row[sizes[0] + sizes[1] : sum(sizes)])
    User.org.field.set_cached_value(user, org)
    User.profile.field.set_cached_value(user, profile)
    flags = sum(sizes)
    user.has_login_hours, user.has_login_ip_ranges = row[flags], row[flags + 1]  # type: ignore[attr-defined]
    if app_id is not None:
        user.policy_rows = {app_id: _policy_from_row(row[flags + 2 :])}  # type: ignore[attr-defined]
    return user


@lru_cache(maxsize=1)
def _app_sql() -> str:
    columns = ", ".join(_columns(ConnectedApp, "a"))
    return f"SELECT {columns} FROM {ConnectedApp._meta.db_table} a WHERE a.client_id = %s"  # noqa: S608


def app_by_client_id(client_id: str) -> ConnectedApp | None:
    """The Connected App with this consumer key, or None."""
    with connection.cursor() as cursor:
        cursor.execute(_app_sql(), [client_id])
        row = cursor.fetchone()
    return None if row is None else _instance(ConnectedApp, row)


@lru_cache(maxsize=1)
def _token_times() -> tuple[Field[Any, Any], ...]:
    from tandem.crm.oauth.models import AccessToken

    return (AccessToken._meta.get_field("expires"), AccessToken._meta.get_field("created"))


@lru_cache(maxsize=1)
def _introspection_sql() -> str:
    from tandem.crm.oauth.models import AccessToken

    columns = ", ".join(_columns(ConnectedApp, "a") + _columns(User, "u") + _columns(Org, "o"))
    return (
        f"SELECT {columns}, t.id, t.scope, t.expires, t.created "  # noqa: S608 - names only
        f"FROM {ConnectedApp._meta.db_table} a LEFT JOIN {AccessToken._meta.db_table} t "
        "ON t.token_checksum = %s AND t.application_id = a.id "
        f"LEFT JOIN {User._meta.db_table} u ON u.id = t.user_id "
        f"LEFT JOIN {Org._meta.db_table} o ON o.id = u.org_id WHERE a.client_id = %s"
    )


def app_and_access_token(
    client_id: str, checksum: str
) -> tuple[ConnectedApp | None, tuple[User | None, str, Any, Any] | None]:
    """Introspection's reads in one indexed statement: the calling app, and that app's access
    token with this checksum as (user with their org, scope, expires, created), or None."""
    with connection.cursor() as cursor:
        cursor.execute(_introspection_sql(), [checksum, client_id])
        row = cursor.fetchone()
    if row is None:
        return None, None
    apps = len(ConnectedApp._meta.concrete_fields)
    users = len(User._meta.concrete_fields)
    orgs = len(Org._meta.concrete_fields)
    app = _instance(ConnectedApp, row[:apps])
    token_id, scope, expires, created = row[apps + users + orgs :]
    expires, created = _converted(_token_times(), (expires, created))
    if token_id is None:
        return app, None
    user_row = row[apps : apps + users]
    user = None
    if user_row[User._meta.concrete_fields.index(User._meta.pk)] is not None:
        user = _instance(User, user_row)
        org = _instance(Org, row[apps + users : apps + users + orgs])
        User.org.field.set_cached_value(user, org)
    return app, (user, scope, expires, created)


@lru_cache(maxsize=1)
def _bearer_sql() -> str:
    from tandem.crm.oauth.models import AccessToken

    columns = _columns(AccessToken, "t") + _columns(ConnectedApp, "a")
    columns += _columns(User, "u") + _columns(Org, "o")
    return (
        f"SELECT {', '.join(columns)} "  # noqa: S608 - table and column names, no input
        f"FROM {AccessToken._meta.db_table} t "
        f"LEFT JOIN {ConnectedApp._meta.db_table} a ON a.id = t.application_id "
        f"LEFT JOIN {User._meta.db_table} u ON u.id = t.user_id "
        f"LEFT JOIN {Org._meta.db_table} o ON o.id = u.org_id "
        "WHERE t.token_checksum = %s LIMIT 1"
    )


def access_token_by_checksum(checksum: str) -> Any:
    """A Bearer token's reads in one indexed statement: the access token with its app and its
    user (with the user's org), as DOT's `select_related("application", "user")` would."""
    from tandem.crm.oauth.models import AccessToken

    with connection.cursor() as cursor:
        cursor.execute(_bearer_sql(), [checksum])
        row = cursor.fetchone()
    if row is None:
        return None
    ends = list(accumulate(len(m._meta.concrete_fields) for m in (AccessToken, ConnectedApp, User)))
    token = _instance(AccessToken, row[: ends[0]])
    app = _optional_instance(ConnectedApp, row[ends[0] : ends[1]])
    user = _optional_instance(User, row[ends[1] : ends[2]])
    if user is not None:
        User.org.field.set_cached_value(user, _instance(Org, row[ends[2] :]))
    AccessToken.application.field.set_cached_value(token, app)
    AccessToken.user.field.set_cached_value(token, user)
    return token


def _optional_instance(model: type[M], row: tuple[Any, ...]) -> M | None:
    """The instance of a LEFT JOIN's columns, or None when it matched no row."""
    pk = model._meta.concrete_fields.index(model._meta.pk)
    return None if row[pk] is None else _instance(model, row)


def _pre_authorized_sql(policy: str) -> str:
    """EXISTS: the user's profile or an assigned permission set is linked to the policy (the
    user's id and profile id are the statement's first two parameters)."""
    from tandem.crm.connectedapps.models import ConnectedAppAccess
    from tandem.crm.permissions.models import PermissionSetAssignment

    access, assignment = ConnectedAppAccess._meta.db_table, PermissionSetAssignment._meta.db_table
    return (
        f"EXISTS (SELECT 1 FROM {access} a LEFT JOIN {assignment} s "  # noqa: S608 - names only
        f"ON s.permission_set_id = a.permission_set_id AND s.user_id = u.id "
        f"WHERE a.policy_id = {policy}.id AND (a.profile_id = u.profile_id OR s.id IS NOT NULL))"
    )


@lru_cache(maxsize=1)
def _policy_sql() -> str:
    from tandem.crm.connectedapps.models import ConnectedAppPolicy

    columns = ", ".join(_columns(ConnectedAppPolicy, "p"))
    return (
        f"SELECT {columns}, {_pre_authorized_sql('p')} "  # noqa: S608 - names only
        f"FROM {ConnectedAppPolicy._meta.db_table} p JOIN {User._meta.db_table} u ON u.id = %s "
        "WHERE p.app_id = %s AND p.org_id = %s"
    )


def _policy_from_row(row: tuple[Any, ...]) -> Any:
    """The policy row with `user_pre_authorized`, or None (its primary key is NULL)."""
    from tandem.crm.connectedapps.models import ConnectedAppPolicy

    if row[0] is None:
        return None
    policy = _instance(ConnectedAppPolicy, row[:-1])
    policy.user_pre_authorized = bool(row[-1])  # type: ignore[attr-defined]
    return policy


def policy_row_for_user(*, app_id: str, org_id: str, user: User) -> Any:
    """The app's policy row in the org with `user_pre_authorized` (the user's profile or an
    assigned permission set is linked to the app), or None."""
    prefetched = getattr(user, "policy_rows", {})
    if app_id in prefetched:
        return prefetched[app_id]
    with connection.cursor() as cursor:
        cursor.execute(_policy_sql(), [user.pk, app_id, org_id])
        row = cursor.fetchone()
    return None if row is None else _policy_from_row(row)
