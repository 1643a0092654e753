"""Users: creation, password logins with lockout, security tokens, sessions, Login History."""

from __future__ import annotations

import ipaddress
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from tandem.core.keys import HmacRing, service_loader
from tandem.crm.orgs.models import Org
from tandem.crm.orgs.services import IpRangeKind, ip_range_add, ip_range_delete
from tandem.crm.setup.services import setup_audit_record
from tandem.crm.users.errors import UserInvalidError
from tandem.crm.users.models import (
    WEEKDAYS,
    LoginHistory,
    LoginStatus,
    LoginType,
    Profile,
    ProfileLoginHours,
    ProfileLoginIpRange,
    User,
    login_hours_errors,
)
from tandem.crm.users.policies import ip_is_trusted, user_ip_allowed, user_within_login_hours
from tandem.crm.users.throttle import login_failure_note, login_throttled

SECURITY_TOKEN_LENGTH = 24
FAILURES_COUNTED_PER_IP = frozenset(
    {LoginStatus.INVALID_PASSWORD, LoginStatus.LOCKED_OUT, LoginStatus.TOKEN_REQUIRED}
)
TOKEN_ALPHABET = string.ascii_letters + string.digits


def login_history_row(
    *,
    org: Org,
    user: User | None,
    username: str,
    source_ip: str | None,
    login_type: str,
    application: str,
    status: str,
    at: datetime | None = None,
) -> LoginHistory:
    """One Login History row, not yet saved: `.save(force_insert=True)` appends it, or a
    caller writes it together with other rows."""
    return LoginHistory(
        org=org,
        user=user,
        username=username[:80],
        login_time=at or timezone.now(),
        source_ip=_ip_or_none(source_ip),
        login_type=login_type,
        application=application[:120],
        status=status,
    )


def _ip_or_none(value: str | None) -> str | None:
    """A storable address, or None for anything that is not one (never a database error)."""
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def _legacy_token_keys() -> list[bytes]:
    """Before key rings, security tokens were hashed with SECRET_KEY itself."""
    return [settings.SECRET_KEY.encode()] if settings.LEGACY_KEYS else []


# The token is random and long: a keyed fast hash is enough and keeps API logins quick.
SECURITY_TOKEN_HASHES = HmacRing(service_loader("crm", "security_token_hash"), _legacy_token_keys)


def _token_hash(token: str) -> str:
    return SECURITY_TOKEN_HASHES.hash(token)


@transaction.atomic
def security_token_reset(*, user: User, actor: User | None = None) -> str:
    """Issue a new security token, keep only its hash, and return it once."""
    token = "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(SECURITY_TOKEN_LENGTH))
    user.security_token_hash = _token_hash(token)
    user.save(update_fields=["security_token_hash"])
    setup_audit_record(
        org=user.org,
        actor=actor,
        action="user.security_token_reset",
        section="Users",
        target=user.username,
    )
    return token


def security_token_matches(*, user: User, token: str) -> bool:
    """True when `token` is the user's current security token."""
    if not user.security_token_hash or not token:
        return False
    return SECURITY_TOKEN_HASHES.matches(token, user.security_token_hash)


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a password login: the user when it succeeded, and the status recorded."""

    user: User | None
    status: str
    history: LoginHistory | None

    @property
    def ok(self) -> bool:
        return self.status == LoginStatus.SUCCESS


def _find_user(username: str, org: Org | None) -> User | None:
    rows = User.objects.select_related("org", "profile").filter(username=username.strip().lower())
    if org is not None:
        rows = rows.filter(org=org)
    return rows.first()


def _locked(user: User) -> User:
    rows = User.objects.select_for_update(of=("self",)).select_related("org", "profile")
    return rows.get(pk=user.pk)


def _check_secret(user: User, secret: str, *, api: bool, trusted: bool) -> tuple[bool, bool]:
    """(password correct, security token satisfied) for a browser or API password login."""
    if user.check_password(secret):
        return True, (not api) or trusted
    if api and len(secret) > SECURITY_TOKEN_LENGTH:
        password, token = secret[:-SECURITY_TOKEN_LENGTH], secret[-SECURITY_TOKEN_LENGTH:]
        if user.check_password(password):
            return True, trusted or security_token_matches(user=user, token=token)
    return False, False


def _register_failure(user: User, now: datetime) -> None:
    user.failed_login_count += 1
    if user.failed_login_count >= settings.CRM_LOCKOUT_ATTEMPTS:
        user.locked_until = now + timedelta(minutes=settings.CRM_LOCKOUT_MINUTES)
        user.failed_login_count = 0
    user.save(update_fields=["failed_login_count", "locked_until"])


def _policy_status(user: User, ip: str, now: datetime) -> str:
    """The first login policy the user fails, or Success."""
    if not user.is_active:
        return LoginStatus.INACTIVE
    if user.is_frozen:
        return LoginStatus.FROZEN
    if not user.org.is_active:
        return LoginStatus.ORG_INACTIVE
    if not user_within_login_hours(user=user, at=now):
        return LoginStatus.LOGIN_HOURS
    if not user_ip_allowed(user=user, ip=ip):
        return LoginStatus.IP_RESTRICTED
    return LoginStatus.SUCCESS


def _attempt_status(
    user: User, password: str, ip: str, api: bool, now: datetime, profile_policies: bool
) -> str:
    if user.is_locked(now):
        return LoginStatus.LOCKED_OUT
    trusted = api and ip_is_trusted(org=user.org, ip=ip)
    password_ok, token_ok = _check_secret(user, password, api=api, trusted=trusted)
    if not password_ok:
        _register_failure(user, now)
        return LoginStatus.LOCKED_OUT if user.is_locked(now) else LoginStatus.INVALID_PASSWORD
    status = _policy_status(user, ip, now) if profile_policies else LoginStatus.SUCCESS
    if status == LoginStatus.SUCCESS and api and not user.is_api_enabled:
        return LoginStatus.API_DISABLED
    if status == LoginStatus.SUCCESS and not token_ok:
        _register_failure(user, now)
        return LoginStatus.TOKEN_REQUIRED
    return status


def user_authenticate_password(
    *,
    username: str,
    password: str,
    ip: str,
    org: Org | None = None,
    login_type: str = LoginType.APPLICATION,
    application: str = "Browser",
    api: bool = False,
    now: datetime | None = None,
    profile_policies: bool = True,
    record: bool = True,
) -> LoginResult:
    """Check a password login against lockout, the password, and the profile's policies.

    `org` limits the login to one org (its My Domain host). With `api`, the password may end
    with the user's security token, which is required outside the org's trusted IP ranges.
    Every attempt by a known user is recorded in Login History, unless `record` is off (the
    OAuth password flow records its own, after the Connected App policies, which also take
    the place of the profile's when `profile_policies` is off).
    """
    moment = now or timezone.now()
    user = _find_user(username, org)
    if user is None:
        User().set_password(password)  # spend the same time as a real check
        login_failure_note(ip)
        status = LoginStatus.RATE_EXCEEDED if login_throttled(ip) else LoginStatus.INVALID_PASSWORD
        return LoginResult(user=None, status=status, history=None)
    with transaction.atomic():
        # Lock the row so that concurrent failures are all counted towards the lockout.
        user = _locked(user)
        if login_throttled(ip):
            status = LoginStatus.RATE_EXCEEDED
        else:
            status = _attempt_status(user, password, ip, api, moment, profile_policies)
        if status in FAILURES_COUNTED_PER_IP:
            login_failure_note(ip)
        if status == LoginStatus.SUCCESS and (user.failed_login_count or user.locked_until):
            user.failed_login_count, user.locked_until = 0, None
            user.save(update_fields=["failed_login_count", "locked_until"])
        history = None
        if record:
            history = login_history_row(
                org=user.org,
                user=user,
                username=user.username,
                source_ip=ip,
                login_type=login_type,
                application=application,
                status=status,
                at=moment,
            )
            history.save(force_insert=True)
    return LoginResult(
        user=user if status == LoginStatus.SUCCESS else None, status=status, history=history
    )


def generate_password() -> str:
    """A random password that satisfies any reasonable policy."""
    return secrets.token_urlsafe(12) + "a1!"


def _user_errors(
    *, org: Org, username: str, email: str, last_name: str, profile: Profile | None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for field, value in (("username", username), ("email", email)):
        try:
            validate_email(value)
        except ValidationError:
            errors.setdefault(field, []).append("Enter an email-shaped value (name@example.com).")
    if not errors.get("username") and User.objects.filter(username=username).exists():
        errors.setdefault("username", []).append(
            "This username is taken (usernames are unique across every org)."
        )
    if not last_name.strip():
        errors.setdefault("last_name", []).append("Enter a last name.")
    if profile is None or profile.org_id != org.id:
        errors.setdefault("profile", []).append("Choose a profile of this org.")
    return errors


@transaction.atomic
def user_create(
    *,
    org: Org,
    actor: User | None,
    username: str,
    email: str,
    last_name: str,
    profile: Profile | None,
    first_name: str = "",
    password: str | None = None,
    is_marketing_user: bool = False,
    is_api_enabled: bool = True,
) -> User:
    """Create a user in `org` (refusing bad input with UserInvalidError) and audit it."""
    username = username.strip().lower()
    errors = _user_errors(
        org=org, username=username, email=email.strip(), last_name=last_name, profile=profile
    )
    if errors:
        raise UserInvalidError(errors)
    user = User.objects.create_user(
        username,
        password,
        org=org,
        profile=profile,
        email=email.strip(),
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        is_marketing_user=is_marketing_user,
        is_api_enabled=is_api_enabled,
    )
    setup_audit_record(
        org=org,
        actor=actor,
        action="user.created",
        section="Users",
        target=username,
        new=user_snapshot(user),
    )
    return user


@dataclass(frozen=True)
class CreatedUser:
    """A new user and the secrets shown once: its password and, when asked, security token."""

    user: User
    password: str
    security_token: str | None


@transaction.atomic
def user_create_with_credentials(
    *,
    org: Org,
    username: str,
    email: str,
    last_name: str,
    profile_name: str,
    first_name: str = "",
    password: str | None = None,
    is_marketing_user: bool = False,
    is_api_enabled: bool = True,
    with_security_token: bool = False,
) -> CreatedUser:
    """`tandem crm user create`: a user with a named profile, a given or generated password
    and, when asked, a security token."""
    profile = Profile.objects.filter(org=org, name=profile_name).first()
    if profile is None:
        names = ", ".join(Profile.objects.filter(org=org).values_list("name", flat=True))
        raise UserInvalidError({"profile": [f"no profile {profile_name!r} (choose: {names})"]})
    password = password or generate_password()
    user = user_create(
        org=org,
        actor=None,
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        profile=profile,
        password=password,
        is_marketing_user=is_marketing_user,
        is_api_enabled=is_api_enabled,
    )
    token = security_token_reset(user=user) if with_security_token else None
    return CreatedUser(user=user, password=password, security_token=token)


def user_snapshot(user: User) -> dict[str, object]:
    """The audited fields of a user."""
    return {
        "username": user.username,
        "email": user.email,
        "name": user.full_name,
        "profile": user.profile.name,
        "is_active": user.is_active,
        "is_frozen": user.is_frozen,
        "is_api_enabled": user.is_api_enabled,
        "is_marketing_user": user.is_marketing_user,
    }


USER_FLAGS = ("is_active", "is_frozen", "is_api_enabled", "is_marketing_user")


@transaction.atomic
def user_update(*, actor: User, user: User, profile: Profile, flags: dict[str, bool]) -> User:
    """Change a user's profile and flags (same org only), auditing old and new values."""
    if profile.org_id != user.org_id or actor.org_id != user.org_id:
        raise UserInvalidError({"profile": ["Choose a profile of this org."]})
    old = user_snapshot(user)
    user.profile = profile
    for name in USER_FLAGS:
        if name in flags:
            setattr(user, name, bool(flags[name]))
    user.save()
    new = user_snapshot(user)
    if new != old:
        setup_audit_record(
            org=user.org,
            actor=actor,
            action="user.changed",
            section="Users",
            target=user.username,
            old=old,
            new=new,
        )
    return user


LOGIN_IP_RANGES = IpRangeKind("Profiles", "profile.login_ip_range", UserInvalidError)


def profile_login_ip_range_add(
    *,
    actor: User | None,
    profile: Profile,
    start_address: str,
    end_address: str,
    description: str = "",
) -> ProfileLoginIpRange:
    """Add a login IP range to a profile (IPv4, start ≤ end); audited."""
    row = ProfileLoginIpRange(
        profile=profile,
        start_address=start_address,
        end_address=end_address,
        description=description,
    )
    return ip_range_add(
        actor=actor, org=profile.org, row=row, kind=LOGIN_IP_RANGES, target=profile.name
    )


def profile_login_ip_range_delete(*, actor: User, row: ProfileLoginIpRange) -> None:
    """Remove a login IP range of a profile of the actor's org; audited."""
    profile = row.profile
    if profile.org_id != actor.org_id:
        raise UserInvalidError({"range": ["No such range in this org."]})
    ip_range_delete(
        actor=actor, org=profile.org, row=row, kind=LOGIN_IP_RANGES, target=profile.name
    )


def _hours_text(profile: Profile) -> dict[str, list[int]]:
    return {
        WEEKDAYS[r.weekday]: [r.start_minutes, r.end_minutes] for r in profile.login_hours.all()
    }


@transaction.atomic
def profile_login_hours_set(
    *, actor: User | None, profile: Profile, hours: dict[int, tuple[int, int] | None]
) -> None:
    """Replace the profile's login hours: weekday → (start, end) minutes, or None for no limit."""
    errors: dict[str, list[str]] = {}
    for weekday, window in hours.items():
        if not 0 <= weekday <= 6:
            errors[f"day_{weekday}"] = ["Choose a weekday from Monday to Sunday."]
        elif window is not None:
            for message in login_hours_errors(*window).values():
                errors.setdefault(f"day_{weekday}", []).append(message)
    if errors:
        raise UserInvalidError(errors)
    old = _hours_text(profile)
    profile.login_hours.all().delete()
    for weekday, window in sorted(hours.items()):
        if window is not None:
            ProfileLoginHours.objects.create(
                profile=profile, weekday=weekday, start_minutes=window[0], end_minutes=window[1]
            )
    new = _hours_text(profile)
    if new != old:
        setup_audit_record(
            org=profile.org,
            actor=actor,
            action="profile.login_hours_changed",
            section="Profiles",
            target=profile.name,
            old=old,
            new=new,
        )


@transaction.atomic
def user_unlock(*, actor: User, user: User) -> None:
    """Lift a lockout now (Setup → Users → Unlock); audited."""
    if user.org_id != actor.org_id:
        raise UserInvalidError({"user": ["No such user in this org."]})
    old = {
        "locked_until": user.locked_until.isoformat() if user.locked_until else None,
        "failed_login_count": user.failed_login_count,
    }
    user.locked_until, user.failed_login_count = None, 0
    user.save(update_fields=["locked_until", "failed_login_count"])
    setup_audit_record(
        org=user.org,
        actor=actor,
        action="user.unlocked",
        section="Users",
        target=user.username,
        old=old,
        new={"locked_until": None, "failed_login_count": 0},
    )


@transaction.atomic
def user_password_reset(*, actor: User | None, user: User) -> str:
    """Give the user a new generated password, returned once (the audit row never holds it)."""
    if actor is not None and user.org_id != actor.org_id:
        raise UserInvalidError({"user": ["No such user in this org."]})
    password = generate_password()
    user.set_password(password)
    user.save(update_fields=["password"])
    setup_audit_record(
        org=user.org,
        actor=actor,
        action="user.password_reset",
        section="Users",
        target=user.username,
    )
    return password
