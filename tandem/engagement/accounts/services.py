"""Writes for accounts, users and their settings; every change writes an audit row."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import get_password_validators, validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from tandem.engagement.accounts.models import Account, AuditEvent, Role, User

# Engagement passwords follow these rules whatever the project-wide validators say.
PASSWORD_VALIDATORS: list[dict[str, Any]] = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]


class AccountError(Exception):
    """A request about accounts or users that cannot be carried out."""


def _actor_label(actor: User | None) -> str:
    return actor.get_username() if actor is not None else "system"


def audit_record(
    *,
    account: Account,
    actor: User | None,
    action: str,
    target: str,
    old: Any,
    new: Any,
) -> AuditEvent:
    """Append one audit row: who (actor, or the system), what, old and new values."""
    return AuditEvent.objects.create(
        account=account,
        actor=actor,
        actor_label=_actor_label(actor),
        action=action,
        target=target,
        old_value=old,
        new_value=new,
    )


def _check_password(password: str) -> None:
    try:
        validate_password(password, None, get_password_validators(PASSWORD_VALIDATORS))
    except ValidationError as exc:
        raise AccountError(" ".join(exc.messages)) from exc


@transaction.atomic
def account_create(*, name: str, admin_username: str, admin_password: str) -> User:
    """Create an account with its first Administrator; returns that user."""
    name, admin_username = name.strip(), admin_username.strip()
    if not name:
        raise AccountError("The account name must not be empty.")
    if not admin_username:
        raise AccountError("The admin username must not be empty.")
    if Account.objects.filter(name__iexact=name).exists():
        raise AccountError(f"An account named {name!r} already exists.")
    if User.objects.filter(username__iexact=admin_username).exists():
        raise AccountError(f"The username {admin_username!r} is taken.")
    _check_password(admin_password)
    account = Account.objects.create(name=name)
    admin = User.objects.create_user(
        username=admin_username, password=admin_password, account=account, role=Role.ADMINISTRATOR
    )
    audit_record(
        account=account,
        actor=None,
        action="account.created",
        target=name,
        old=None,
        new={"name": name, "admin": admin_username},
    )
    return admin


@transaction.atomic
def account_settings_update(*, actor: User, my_documents_in_content: bool) -> Account:
    """Change the account's settings; only an Administrator may, and each change is audited."""
    account = _admin_account(actor)
    account = Account.objects.select_for_update().get(pk=account.pk)
    old = account.my_documents_in_content
    if old == my_documents_in_content:
        return account
    account.my_documents_in_content = my_documents_in_content
    account.save(update_fields=["my_documents_in_content"])
    audit_record(
        account=account,
        actor=actor,
        action="account.setting_changed",
        target="My Documents in Content",
        old=old,
        new=my_documents_in_content,
    )
    return account


@transaction.atomic
def user_create(*, actor: User, username: str, password: str, role: str, email: str = "") -> User:
    """Add a user to the actor's account (Administrators only)."""
    account = _admin_account(actor)
    username = username.strip()
    if not username:
        raise AccountError("The username must not be empty.")
    if role not in Role.values:
        raise AccountError(f"Unknown role {role!r}.")
    if User.objects.filter(username__iexact=username).exists():
        raise AccountError(f"The username {username!r} is taken.")
    _check_password(password)
    user = User.objects.create_user(
        username=username, password=password, email=email, account=account, role=role
    )
    audit_record(
        account=account,
        actor=actor,
        action="user.created",
        target=username,
        old=None,
        new={"role": role, "email": email},
    )
    return user


@transaction.atomic
def user_role_change(*, actor: User, user: User, role: str) -> User:
    """Change a user's role; an account always keeps at least one active Administrator."""
    account = _admin_account(actor)
    if user.account_id != account.pk:
        raise AccountError("That user is not in your account.")
    if role not in Role.values:
        raise AccountError(f"Unknown role {role!r}.")
    old = user.role
    if old == role:
        return user
    others = User.objects.filter(account=account, role=Role.ADMINISTRATOR, is_active=True)
    if old == Role.ADMINISTRATOR and not others.exclude(pk=user.pk).exists():
        raise AccountError("The account must keep at least one Administrator.")
    user.role = role
    user.save(update_fields=["role"])
    audit_record(
        account=account,
        actor=actor,
        action="user.role_changed",
        target=user.get_username(),
        old=old,
        new=role,
    )
    return user


def _admin_account(actor: User) -> Account:
    if actor.account is None or not actor.is_account_admin or not actor.is_active:
        raise AccountError("Only an Administrator of the account may do this.")
    return actor.account
