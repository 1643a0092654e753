"""The demo org: an admin, Connect's future system user and a few marketing users (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from tandem.crm.orgs.domains import crm_base_url, org_instance_url, org_login_url
from tandem.crm.orgs.models import Org
from tandem.crm.orgs.services import org_create
from tandem.crm.users.models import Profile, ProfileName, User
from tandem.crm.users.services import security_token_reset, user_create

DEMO_ORG_NAME = "Acme"
DEMO_MY_DOMAIN = "acme"
# A local demo only: the password is printed and written to var/demo.json on purpose.
DEMO_PASSWORD = "Tandem-demo-2026"  # noqa: S105


@dataclass(frozen=True)
class DemoUser:
    role: str
    username: str
    first_name: str
    last_name: str
    profile: str
    is_marketing_user: bool


DEMO_USERS = (
    DemoUser("admin", "admin@acme.demo", "Ada", "Admin", ProfileName.SYSTEM_ADMINISTRATOR, False),
    DemoUser("system_user", "mc-system@acme.demo", "Sam", "System",
             ProfileName.SYSTEM_ADMINISTRATOR, True),
    DemoUser("marketing_user", "maria@acme.demo", "Maria", "Marketer",
             ProfileName.MARKETING_USER, True),
    DemoUser("marketing_user", "mark@acme.demo", "Mark", "Mailer",
             ProfileName.MARKETING_USER, True),
    DemoUser("marketing_user", "mina@acme.demo", "Mina", "Campaigns",
             ProfileName.MARKETING_USER, True),
)  # fmt: skip


def _demo_org() -> Org:
    org = Org.objects.filter(my_domain=DEMO_MY_DOMAIN).first()
    if org is None:
        org = org_create(name=DEMO_ORG_NAME, my_domain=DEMO_MY_DOMAIN)
        # Connect starts on legacy authentication, which logs in with the password flow.
        org.allow_username_password_flows = True
        org.save(update_fields=["allow_username_password_flows"])
    return org


def _demo_user(org: Org, spec: DemoUser) -> tuple[User, bool]:
    existing = User.objects.filter(username=spec.username).first()
    if existing is not None:
        return existing, False
    user = user_create(
        org=org, actor=None, username=spec.username, email=spec.username,
        first_name=spec.first_name, last_name=spec.last_name,
        profile=Profile.objects.get(org=org, name=spec.profile), password=DEMO_PASSWORD,
        is_marketing_user=spec.is_marketing_user,
    )  # fmt: skip
    return user, True


@transaction.atomic
def demo_seed() -> dict[str, object]:
    """Create what is missing and describe the demo (a security token only when just issued)."""
    org = _demo_org()
    users = []
    for spec in DEMO_USERS:
        user, created = _demo_user(org, spec)
        entry: dict[str, object] = {
            "role": spec.role, "username": user.username, "password": DEMO_PASSWORD,
            "user_id": user.id, "profile": user.profile.name, "name": user.full_name,
        }  # fmt: skip
        if spec.role == "system_user" and created:
            entry["security_token"] = security_token_reset(user=user)
        users.append(entry)
    return {
        "url": crm_base_url(),
        "login_url": f"{crm_base_url()}/login/",
        "org": {"id": org.id, "name": org.name, "my_domain": org.my_domain,
                "my_domain_url": org_instance_url(org), "login_url": org_login_url(org)},
        "users": users,
    }  # fmt: skip
