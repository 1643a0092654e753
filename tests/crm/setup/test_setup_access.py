"""Authorization of every Setup page: anonymous, non-admin, another org's admin, the org's admin."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tandem.crm.orgs.models import Org, TrustedIpRange
from tandem.crm.orgs.services import trusted_ip_range_add
from tandem.crm.permissions.models import PermissionSet, PermissionSetAssignment
from tandem.crm.permissions.services import permission_set_assign, permission_set_create
from tandem.crm.users.models import Profile, ProfileLoginIpRange, User, UserSession

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(org: Org, admin: User, marketer: User) -> dict[str, str]:
    """One record of each kind in the admin's org; their ids by name."""
    permission_set = permission_set_create(
        org=org, actor=admin, label="Acme Secret Set", api_name="Acme_Secret_Set"
    )
    permission_set_assign(actor=admin, permission_set=permission_set, users=[marketer])
    trusted_ip_range_add(actor=admin, org=org, start_address="10.9.9.1", end_address="10.9.9.9")
    session = UserSession.objects.create(user=marketer, session_key_hash="x" * 64)
    profile = Profile.objects.get(org=org, name="Marketing User")
    return {
        "permission_set": permission_set.id,
        "user": marketer.id,
        "profile": profile.id,
        "session": str(session.id),
    }


ORG_WIDE_PAGES = [
    "crm_setup:home",
    "crm_setup:audit_trail",
    "crm_setup:audit_trail_csv",
    "crm_orgs:network_access",
    "crm_orgs:session_settings",
    "crm_orgs:oauth_settings",
    "crm_users:user_list",
    "crm_users:user_new",
    "crm_users:profile_list",
    "crm_users:login_history",
    "crm_users:session_management",
    "crm_permissions:permission_set_list",
    "crm_permissions:permission_set_new",
]
RECORD_PAGES = [
    ("crm_users:user_detail", "user"),
    ("crm_users:profile_detail", "profile"),
    ("crm_permissions:permission_set_detail", "permission_set"),
    ("crm_permissions:permission_set_assignments", "permission_set"),
    ("crm_permissions:permission_set_add_assignments", "permission_set"),
]
RECORD_POSTS = [
    ("crm_users:user_security_token_reset", "user"),
    ("crm_users:user_password_reset", "user"),
    ("crm_users:user_unlock", "user"),
    ("crm_users:user_session_end", "session"),
]


def url_of(name: str, records: dict[str, str], kind: str | None = None) -> str:
    return reverse(name, args=[records[kind]]) if kind else reverse(name)


def all_gets(records: dict[str, str]) -> list[str]:
    return [url_of(n, records) for n in ORG_WIDE_PAGES] + [
        url_of(n, records, kind) for n, kind in RECORD_PAGES
    ]


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_is_sent_to_log_in(records: dict[str, str]) -> None:
    for url in all_gets(records):
        response = Client().get(url)

        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url


def test_non_admin_of_the_org_is_refused(records: dict[str, str], standard_user: User) -> None:
    client = logged_in(standard_user)

    for url in all_gets(records):
        assert client.get(url).status_code == 403, url


def test_admin_of_the_org_opens_every_page(records: dict[str, str], admin: User) -> None:
    client = logged_in(admin)

    for url in all_gets(records):
        assert client.get(url).status_code == 200, url


def test_other_orgs_admin_gets_404_for_this_orgs_records(
    records: dict[str, str], outsider: User
) -> None:
    client = logged_in(outsider)

    for name, kind in RECORD_PAGES:
        assert client.get(url_of(name, records, kind)).status_code == 404, name


def test_other_orgs_admin_sees_none_of_this_orgs_data(
    records: dict[str, str], outsider: User
) -> None:
    client = logged_in(outsider)

    for name in ORG_WIDE_PAGES:
        body = client.get(reverse(name)).content.decode()
        for secret in ("Acme_Secret_Set", "marketer@acme.test", "10.9.9.1", "admin@acme.test"):
            assert secret not in body, (name, secret)


def test_other_orgs_admin_cannot_change_this_orgs_records(
    records: dict[str, str], outsider: User, marketer: User
) -> None:
    client = logged_in(outsider)
    token_hash, password_hash = marketer.security_token_hash, marketer.password

    for name, kind in RECORD_POSTS:
        assert client.post(url_of(name, records, kind)).status_code == 404, name
    for name, kind in RECORD_PAGES:
        client.post(url_of(name, records, kind), {"user": [marketer.id], "label": "x"})

    marketer.refresh_from_db()
    assert marketer.security_token_hash == token_hash
    assert marketer.password == password_hash
    assert UserSession.objects.filter(id=records["session"]).exists()
    assert PermissionSetAssignment.objects.filter(user=marketer).count() == 1


def test_other_orgs_admin_cannot_delete_this_orgs_ranges(
    records: dict[str, str], outsider: User, org: Org
) -> None:
    row = TrustedIpRange.objects.get(org=org)
    profile_row = ProfileLoginIpRange.objects.create(
        profile_id=records["profile"], start_address="10.0.0.1", end_address="10.0.0.2"
    )
    client = logged_in(outsider)

    network = client.post(reverse("crm_orgs:network_access"), {"action": "delete", "range": row.id})
    profile = client.post(
        reverse("crm_users:profile_detail", args=[records["profile"]]),
        {"action": "delete_range", "range": profile_row.id},
    )

    assert network.status_code == 404
    assert profile.status_code == 404
    assert TrustedIpRange.objects.filter(id=row.id).exists()
    assert ProfileLoginIpRange.objects.filter(id=profile_row.id).exists()


def test_assigning_ignores_user_ids_of_another_org(
    records: dict[str, str], admin: User, outsider: User
) -> None:
    url = reverse(
        "crm_permissions:permission_set_add_assignments", args=[records["permission_set"]]
    )

    logged_in(admin).post(url, {"user": [outsider.id]})

    assert not PermissionSetAssignment.objects.filter(user=outsider).exists()
    assert PermissionSet.objects.get().assignments.count() == 1
