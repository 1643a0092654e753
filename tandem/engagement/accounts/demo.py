"""The demo account: an Administrator, one user per CRM marketing user, a sample email and a
sendable data extension (idempotent)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from tandem.engagement.accounts.models import Account, Role, User
from tandem.engagement.accounts.services import AccountError, account_create, user_create
from tandem.engagement.data.models import DataExtension, FieldType
from tandem.engagement.data.services import FieldSpec, Sendable, data_extension_create, row_create
from tandem.engagement.studio.models import Email
from tandem.engagement.studio.services import email_create

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
        return user_create(
            actor=admin,
            username=username,
            password=DEMO_PASSWORD,
            role=Role.MARKETING_USER,
            email=crm_username,
        )
    if existing.account_id != admin.account_id:
        raise AccountError(f"The username {username!r} belongs to another account.")
    return existing


DEMO_EMAIL = {
    "name": "Spring Newsletter",
    "subject": "Hello %%FirstName%%, spring is here",
    "from_name": "Acme Marketing",
    "from_address": "news@mc.acme.demo",
    "html_body": "<p>Hi %%FirstName%%,</p><p>Our spring range is out.</p>",
    "text_body": "Hi %%FirstName%%,\n\nOur spring range is out.",
}
DEMO_DE = "Newsletter Subscribers"
DEMO_SUBSCRIBERS = (
    ("sub-1", "ann@subscribers.example", "Ann"),
    ("sub-2", "bob@subscribers.example", "Bob"),
    ("sub-3", "cleo@subscribers.example", "Cleo"),
)


def _demo_content(admin: User) -> dict[str, object]:
    """The sample email and the sendable data extension with three subscribers, once."""
    email = Email.objects.filter(account=admin.account, name=DEMO_EMAIL["name"]).first()
    email = email or email_create(actor=admin, **DEMO_EMAIL)
    audience = DataExtension.objects.filter(account=admin.account, name=DEMO_DE).first()
    if audience is None:
        fields = [
            FieldSpec("SubscriberKey", FieldType.TEXT, is_primary_key=True),
            FieldSpec("EmailAddress", FieldType.EMAIL_ADDRESS, is_required=True),
            FieldSpec("FirstName"),
        ]
        sendable = Sendable(True, "SubscriberKey", "EmailAddress")
        audience = data_extension_create(
            actor=admin, name=DEMO_DE, fields=fields, sendable=sendable
        )
        for key, address, first in DEMO_SUBSCRIBERS:
            cells = {"SubscriberKey": key, "EmailAddress": address, "FirstName": first}
            row_create(actor=admin, data_extension=audience, cells=cells)
    return {
        "email": {"id": email.pk, "name": email.name},
        "data_extension": {"id": audience.pk, "name": audience.name, "rows": audience.rows.count()},
    }


def _entry(user: User, crm_username: str | None) -> dict[str, object]:
    return {
        "role": user.role,
        "username": user.username,
        "password": DEMO_PASSWORD,
        "user_id": user.pk,
        "crm_username": crm_username,
    }


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
        **_demo_content(admin),
    }
