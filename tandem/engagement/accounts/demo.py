"""The demo account: an Administrator and one user per CRM marketing user (idempotent)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from tandem.engagement.accounts.models import Account, Role, User
from tandem.engagement.accounts.services import AccountError, account_create, user_create

DEMO_ACCOUNT_NAME = "Acme Marketing"
DEMO_DOMAIN = "mc.acme.demo"
DEMO_ADMIN_USERNAME = f"admin@{DEMO_DOMAIN}"
# A local demo only: the password is printed and written to var/demo.json on purpose.
DEMO_PASSWORD = "Tandem-demo-2026"  # noqa: S105


def demo_username(crm_username: str) -> str:
    """The Engagement user of a CRM marketing user: same name, the demo account's domain."""
    return f"{crm_username.split('@', 1)[0]}@{DEMO_DOMAIN}"


def _demo_admin() -> User:
    account = Account.objects.filter(name=DEMO_ACCOUNT_NAME).first()
    if account is None:
        return account_create(
            name=DEMO_ACCOUNT_NAME, admin_username=DEMO_ADMIN_USERNAME, admin_password=DEMO_PASSWORD
        )
    admin = User.objects.filter(account=account, username=DEMO_ADMIN_USERNAME).first()
    if admin is None:
        raise AccountError(f"{DEMO_ACCOUNT_NAME!r} exists without its {DEMO_ADMIN_USERNAME!r}.")
    return admin


def _demo_user(admin: User, crm_username: str) -> User:
    username = demo_username(crm_username)
    existing = User.objects.filter(username__iexact=username).first()
    if existing is None:
        return user_create(actor=admin, username=username, password=DEMO_PASSWORD,
                           role=Role.MARKETING_USER, email=crm_username)  # fmt: skip
    if existing.account_id != admin.account_id:
        raise AccountError(f"The username {username!r} belongs to another account.")
    return existing


def _entry(user: User, crm_username: str | None) -> dict[str, object]:
    return {"role": user.role, "username": user.username, "password": DEMO_PASSWORD,
            "user_id": user.pk, "crm_username": crm_username}  # fmt: skip


@transaction.atomic
def demo_seed(*, crm_usernames: list[str]) -> dict[str, object]:
    """Create what is missing and describe the demo account and its logins."""
    admin = _demo_admin()
    users = [_entry(admin, None)]
    for crm_username in crm_usernames:
        users.append(_entry(_demo_user(admin, crm_username), crm_username))
    assert admin.account is not None
    base = str(settings.ENGAGEMENT_URL).rstrip("/")
    return {
        "url": base,
        "login_url": f"{base}/login/",
        "account": {"id": admin.account.pk, "name": admin.account.name},
        "users": users,
    }
