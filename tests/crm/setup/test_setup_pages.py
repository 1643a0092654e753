"""Setup pages change things only through their services, audit them, and refuse bad input."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from tandem.crm.orgs.models import Org, TrustedIpRange
from tandem.crm.setup import menu
from tandem.crm.setup.menu import matching, register
from tandem.crm.setup.models import SetupAuditTrail
from tandem.crm.users.models import Profile, ProfileLoginHours, ProfileLoginIpRange, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_admin(admin: User) -> Client:
    client = Client()
    client.force_login(admin)
    return client


def test_setup_link_is_shown_to_admins_only(admin: User, standard_user: User) -> None:
    admin_client, user_client = Client(), Client()
    admin_client.force_login(admin)
    user_client.force_login(standard_user)

    assert b'href="/setup/"' in admin_client.get("/").content
    assert b'href="/setup/"' not in user_client.get("/").content


def test_every_setup_page_carries_the_menu_and_quick_find(client_admin: Client) -> None:
    body = client_admin.get(reverse("crm_users:login_history")).content.decode()

    assert 'aria-label="Quick Find"' in body
    for label in (
        "Users",
        "Profiles",
        "Network Access",
        "Login History",
        "Permission Sets",
        "Setup Audit Trail",
    ):
        assert f">{label}</a>" in body


@pytest.mark.parametrize(
    ("query", "labels"),
    [
        ("Permission Sets", ["Permission Sets"]),
        ("permission", ["Permission Sets"]),
        ("audit", ["Setup Audit Trail"]),
        ("zzz", []),
    ],
)
def test_quick_find_matches_labels(query: str, labels: list[str]) -> None:
    assert [e.label for e in matching(query)] == labels


def test_later_apps_can_register_menu_entries(
    client_admin: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A copy of the registry, so the entry added here does not leak into later tests.
    monkeypatch.setattr(menu, "REGISTRY", dict(menu.REGISTRY))
    register("Later Page", "crm_setup:home", "Apps")

    body = client_admin.get("/setup/?q=Later").content.decode()

    assert ">Later Page</a>" in body


def test_new_user_with_generated_password(client_admin: Client, org: Org) -> None:
    profile = Profile.objects.get(org=org, name="Marketing User")

    response = client_admin.post(
        reverse("crm_users:user_new"),
        {
            "first_name": "Mia",
            "last_name": "Marketer",
            "email": "mia@acme.test",
            "username": "mia@acme.test",
            "profile": profile.id,
            "is_marketing_user": "on",
        },
    )

    assert response.status_code == 200
    created = User.objects.get(username="mia@acme.test")
    assert created.org == org
    assert created.is_marketing_user
    assert response.context["generated_password"]
    assert created.check_password(response.context["generated_password"])
    assert SetupAuditTrail.objects.filter(action="user.created", target="mia@acme.test").exists()


def test_new_user_refuses_a_taken_username(client_admin: Client, org: Org, outsider: User) -> None:
    profile = Profile.objects.get(org=org, name="Standard User")
    count = User.objects.count()

    response = client_admin.post(
        reverse("crm_users:user_new"),
        {
            "last_name": "X",
            "email": "x@acme.test",
            "username": outsider.username,
            "profile": profile.id,
        },
    )

    assert "This username is taken" in response.content.decode()
    assert User.objects.count() == count


def test_new_user_refuses_another_orgs_profile(client_admin: Client, other_org: Org) -> None:
    foreign = Profile.objects.get(org=other_org, name="Standard User")
    count = User.objects.count()

    response = client_admin.post(
        reverse("crm_users:user_new"),
        {
            "last_name": "X",
            "email": "x@acme.test",
            "username": "x@acme.test",
            "profile": foreign.id,
        },
    )

    assert response.context["form"].errors["profile"]
    assert User.objects.count() == count


def test_editing_a_user_audits_old_and_new(client_admin: Client, marketer: User) -> None:
    url = reverse("crm_users:user_detail", args=[marketer.id])

    client_admin.post(
        url,
        {
            "profile": marketer.profile_id,
            "is_active": "on",
            "is_frozen": "on",
            "is_api_enabled": "on",
        },
    )

    marketer.refresh_from_db()
    assert marketer.is_frozen
    assert not marketer.is_marketing_user
    audit = SetupAuditTrail.objects.get(action="user.changed")
    assert (audit.old_value["is_frozen"], audit.new_value["is_frozen"]) == (False, True)


def test_profile_login_ip_range_add_and_refuse(client_admin: Client, org: Org) -> None:
    profile = Profile.objects.get(org=org, name="Standard User")
    url = reverse("crm_users:profile_detail", args=[profile.id])

    bad = client_admin.post(
        url, {"action": "add_range", "start_address": "10.0.0.9", "end_address": "10.0.0.1"}
    )
    assert "must not come before" in bad.content.decode()
    assert not ProfileLoginIpRange.objects.exists()

    client_admin.post(
        url,
        {
            "action": "add_range",
            "start_address": "10.0.0.1",
            "end_address": "10.0.0.9",
            "description": "Office",
        },
    )
    assert ProfileLoginIpRange.objects.get().description == "Office"


def test_profile_login_hours_edit_and_clear(client_admin: Client, org: Org) -> None:
    profile = Profile.objects.get(org=org, name="Standard User")
    url = reverse("crm_users:profile_detail", args=[profile.id])

    client_admin.post(url, {"action": "set_hours", "start_0": "540", "end_0": "1020"})
    assert list(
        ProfileLoginHours.objects.values_list("weekday", "start_minutes", "end_minutes")
    ) == [(0, 540, 1020)]
    audit = SetupAuditTrail.objects.get(action="profile.login_hours_changed")
    assert audit.new_value == {"Monday": [540, 1020]}

    client_admin.post(url, {"action": "clear_hours"})
    assert not ProfileLoginHours.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"start_0": "1020", "end_0": "540"}, "The end must not come before the start."),
        ({"start_0": "540"}, "Choose both a start and an end."),
        ({"start_0": "541", "end_0": "600"}, "Select a valid choice."),
    ],
)
def test_profile_login_hours_refuse_bad_windows(
    client_admin: Client, org: Org, data: dict[str, str], message: str
) -> None:
    profile = Profile.objects.get(org=org, name="Standard User")
    url = reverse("crm_users:profile_detail", args=[profile.id])

    response = client_admin.post(url, {"action": "set_hours", **data})

    assert message in response.content.decode()
    assert not ProfileLoginHours.objects.exists()


def test_network_access_add_refuse_and_delete(client_admin: Client) -> None:
    url = reverse("crm_orgs:network_access")

    bad = client_admin.post(
        url, {"action": "add", "start_address": "300.1.1.1", "end_address": "10.0.0.1"}
    )
    assert "Enter a valid IPv4 address." in bad.content.decode()
    assert not TrustedIpRange.objects.exists()

    client_admin.post(
        url, {"action": "add", "start_address": "10.0.0.1", "end_address": "10.0.0.9"}
    )
    row = TrustedIpRange.objects.get()
    client_admin.post(url, {"action": "delete", "range": row.id})
    assert not TrustedIpRange.objects.exists()
    assert list(
        SetupAuditTrail.objects.filter(section="Security").values_list("action", flat=True)
    ) == ["network_access.range_deleted", "network_access.range_added"]


def test_audit_trail_is_newest_first_and_filterable(client_admin: Client) -> None:
    new_range = {"action": "add", "start_address": "10.0.0.1", "end_address": "10.0.0.9"}
    client_admin.post(reverse("crm_orgs:network_access"), new_range)

    page = client_admin.get(reverse("crm_setup:audit_trail")).context["page"]
    filtered = client_admin.get(reverse("crm_setup:audit_trail"), {"section": "Users"})

    actions = [row.action for row in page]
    assert actions[0] == "network_access.range_added"
    assert actions[-1] == "org.created"
    assert [r.action for r in filtered.context["page"]] == ["user.created"]


def test_audit_trail_csv_export(client_admin: Client) -> None:
    response = client_admin.get(reverse("crm_setup:audit_trail_csv"), {"section": "Users"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Date", "User", "Section", "Action", "Target", "Old Value", "New Value"]
    assert [r[3] for r in rows[1:]] == ["user.created"]
    assert rows[1][4] == "admin@acme.test"


def test_audit_trail_csv_neutralizes_formulas(client_admin: Client, org: Org, admin: User) -> None:
    from tandem.crm.setup.services import setup_audit_record

    setup_audit_record(org=org, actor=admin, action="x.y", section="S", target="=HYPERLINK(1)")

    body = client_admin.get(reverse("crm_setup:audit_trail_csv")).content.decode()

    assert "'=HYPERLINK(1)" in body


def test_session_settings_change_is_audited(client_admin: Client, org: Org) -> None:
    data = {"session_timeout_minutes": "30", "enforce_ip_ranges_every_request": "on"}
    client_admin.post(reverse("crm_orgs:session_settings"), data)

    org.refresh_from_db()
    assert org.session_timeout_minutes == 30
    assert org.enforce_ip_ranges_every_request
    audit = SetupAuditTrail.objects.get(action="org.settings_changed")
    assert audit.section == "Session Settings"
    assert audit.old_value == {
        "session_timeout_minutes": 120,
        "enforce_ip_ranges_every_request": False,
    }


def test_session_settings_refuse_an_unlisted_timeout(client_admin: Client, org: Org) -> None:
    response = client_admin.post(
        reverse("crm_orgs:session_settings"), {"session_timeout_minutes": "7"}
    )

    assert "Select a valid choice." in response.content.decode()
    org.refresh_from_db()
    assert org.session_timeout_minutes == 120


def test_oauth_settings_switch_username_password_flows(client_admin: Client, org: Org) -> None:
    client_admin.post(reverse("crm_orgs:oauth_settings"), {"allow_username_password_flows": "on"})

    org.refresh_from_db()
    assert org.allow_username_password_flows
    audit = SetupAuditTrail.objects.get(action="org.settings_changed")
    assert audit.new_value == {"allow_username_password_flows": True}


@pytest.mark.parametrize(
    ("url_name", "data"),
    [
        ("crm_users:profile_detail", {"action": "delete_range", "range": "abc"}),
        ("crm_users:profile_detail", {"action": "nonsense"}),
        ("crm_orgs:network_access", {"action": "delete", "range": "abc"}),
    ],
)
def test_garbage_posts_change_nothing_and_never_500(
    client_admin: Client, org: Org, url_name: str, data: dict[str, str]
) -> None:
    profile = Profile.objects.get(org=org, name="Standard User")
    ProfileLoginIpRange.objects.create(
        profile=profile, start_address="10.0.0.1", end_address="10.0.0.2"
    )
    args = [profile.id] if url_name == "crm_users:profile_detail" else []
    audit_before = SetupAuditTrail.objects.count()

    response = client_admin.post(reverse(url_name, args=args), data)

    assert response.status_code in (200, 302, 404)
    assert ProfileLoginIpRange.objects.count() == 1
    assert SetupAuditTrail.objects.count() == audit_before
