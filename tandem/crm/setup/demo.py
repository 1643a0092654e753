"""The demo org: an admin, Connect's system user, marketing users and a few records (idempotent).

Connect's rehearsal needs users with security tokens (legacy authentication), one of whom leaves
the company after being connected (`DEPARTED`: made inactive once Connect knows them) and one the
CRM admin will not pre-authorize (`OUTSIDER`), plus a report and a campaign with members."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from tandem.crm.orgs.domains import crm_base_url, org_instance_url, org_login_url
from tandem.crm.orgs.models import Org
from tandem.crm.orgs.services import org_create, org_settings_update
from tandem.crm.records.models import Campaign, Report
from tandem.crm.records.seed import records_seed
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
    DemoUser(
        "system_user",
        "mc-system@acme.demo",
        "Sam",
        "System",
        ProfileName.SYSTEM_ADMINISTRATOR,
        True,
    ),
    DemoUser(
        "marketing_user", "maria@acme.demo", "Maria", "Marketer", ProfileName.MARKETING_USER, True
    ),
    DemoUser(
        "marketing_user", "mark@acme.demo", "Mark", "Mailer", ProfileName.MARKETING_USER, True
    ),
    DemoUser(
        "marketing_user", "mina@acme.demo", "Mina", "Campaigns", ProfileName.MARKETING_USER, True
    ),
    DemoUser(
        "marketing_user", "ivan@acme.demo", "Ivan", "Former", ProfileName.MARKETING_USER, True
    ),
    DemoUser(
        "marketing_user", "olga@acme.demo", "Olga", "Outsider", ProfileName.MARKETING_USER, True
    ),
)
SYSTEM_USERNAME = "mc-system@acme.demo"
# Connect knew these users under legacy authentication (each with a security token).
CONNECTED_USERNAMES = (
    "maria@acme.demo",
    "mark@acme.demo",
    "mina@acme.demo",
    "ivan@acme.demo",
    "olga@acme.demo",
)
DEPARTED = "ivan@acme.demo"  # inactive once connected: migration fails with inactive_user
OUTSIDER = "olga@acme.demo"  # never given the permission set: invalid_app_access
RECORDS_SEED = 2026  # the demo's records are the same on every machine


def _demo_org() -> Org:
    org = Org.objects.filter(my_domain=DEMO_MY_DOMAIN).first()
    if org is None:
        org = org_create(name=DEMO_ORG_NAME, my_domain=DEMO_MY_DOMAIN)
        # Connect starts on legacy authentication, which logs in with the password flow.
        org_settings_update(
            actor=None,
            org=org,
            section="OAuth and OpenID Connect Settings",
            changes={"allow_username_password_flows": True},
        )
    return org


def _demo_user(org: Org, spec: DemoUser) -> tuple[User, bool]:
    existing = User.objects.filter(username=spec.username).first()
    if existing is not None:
        return existing, False
    user = user_create(
        org=org,
        actor=None,
        username=spec.username,
        email=spec.username,
        first_name=spec.first_name,
        last_name=spec.last_name,
        profile=Profile.objects.get(org=org, name=spec.profile),
        password=DEMO_PASSWORD,
        is_marketing_user=spec.is_marketing_user,
    )
    return user, True


def _keeps_token(username: str) -> bool:
    return username == SYSTEM_USERNAME or username in CONNECTED_USERNAMES


def _demo_records(org: Org) -> None:
    """A few accounts, contacts and leads, a campaign with members and the reports, once."""
    if Campaign.objects.filter(org=org).exists():
        return
    owner = User.objects.get(username="admin@acme.demo")
    records_seed(org=org, owner=owner, contacts=40, leads=10, campaigns=1, seed=RECORDS_SEED)


def _records_entry(org: Org) -> dict[str, object]:
    """What a CRM-audience send of the demo can use: its report and its campaign."""
    report = Report.objects.filter(org=org, developer_name="Contacts_with_email").first()
    campaign = Campaign.objects.filter(org=org).order_by("created_date", "id").first()
    return {
        "report": {"id": report.pk, "name": report.name} if report else None,
        "campaign": (
            {"id": campaign.pk, "name": campaign.name, "members": campaign.members.count()}
            if campaign
            else None
        ),
    }


@transaction.atomic
def demo_seed(*, reissue_tokens: tuple[str, ...] = ()) -> dict[str, object]:
    """Create what is missing and describe the demo. A security token is shown only when issued:
    on creation, or for a user named in `reissue_tokens` (whose earlier token then stops)."""
    org = _demo_org()
    users = []
    for spec in DEMO_USERS:
        user, created = _demo_user(org, spec)
        entry: dict[str, object] = {
            "role": spec.role,
            "username": user.username,
            "password": DEMO_PASSWORD,
            "user_id": user.id,
            "profile": user.profile.name,
            "name": user.full_name,
            "connected": user.username in CONNECTED_USERNAMES,
        }
        if _keeps_token(user.username) and (created or user.username in reissue_tokens):
            entry["security_token"] = security_token_reset(user=user)
        users.append(entry)
    _demo_records(org)
    return {
        "records": _records_entry(org),
        "url": crm_base_url(),
        "login_url": f"{crm_base_url()}/login/",
        "org": {
            "id": org.id,
            "name": org.name,
            "my_domain": org.my_domain,
            "my_domain_url": org_instance_url(org),
            "login_url": org_login_url(org),
        },
        "users": users,
    }
