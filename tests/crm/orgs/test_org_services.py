"""Org creation, My Domain URLs and host resolution, Network Access ranges."""

from __future__ import annotations

import pytest

from tandem.crm.orgs.domains import my_domain_from_host, org_instance_url, org_login_url
from tandem.crm.orgs.errors import OrgInvalidError
from tandem.crm.orgs.models import Org, TrustedIpRange
from tandem.crm.orgs.services import org_create, trusted_ip_range_add
from tandem.crm.setup.models import SetupAuditTrail
from tandem.crm.users.models import Profile, User


def test_new_org_gets_the_three_standard_profiles(db: None) -> None:
    org = org_create(name="Initech")

    assert org.id.startswith("00D")
    assert sorted(Profile.objects.filter(org=org).values_list("name", "modify_all_data")) == [
        ("Marketing User", False),
        ("Standard User", False),
        ("System Administrator", True),
    ]
    assert org.allow_username_password_flows is False
    assert org.api_daily_limit == 15000


@pytest.mark.parametrize(
    ("name", "my_domain", "field"),
    [
        ("", None, "name"),
        ("x" * 81, None, "name"),
        ("Ok", "Has Space", "my_domain"),
        ("Ok", "-dash", "my_domain"),
        ("Ok", "acme", "my_domain"),  # taken
    ],
)
def test_org_create_refuses_bad_input(
    org: Org, name: str, my_domain: str | None, field: str
) -> None:
    with pytest.raises(OrgInvalidError) as raised:
        org_create(name=name, my_domain=my_domain)

    assert field in raised.value.errors
    assert Org.objects.count() == 1


def test_my_domain_urls_follow_the_crm_url(org: Org, settings: object) -> None:
    settings.CRM_URL = "http://localhost:8001"  # type: ignore[attr-defined]

    assert org_instance_url(org) == "http://acme.my.localhost:8001"
    assert org_login_url(org) == "http://acme.my.localhost:8001/login/"


def test_org_without_my_domain_uses_the_generic_url(db: None, settings: object) -> None:
    settings.CRM_URL = "https://crm.example.com"  # type: ignore[attr-defined]

    assert org_instance_url(org_create(name="Plain")) == "https://crm.example.com"


@pytest.mark.parametrize(
    ("host", "slug"),
    [
        ("acme.my.localhost:8001", "acme"),
        ("ACME.my.localhost", "acme"),
        ("localhost:8001", None),
        ("127.0.0.1:8001", None),
        ("a.b.my.localhost", None),
        (".my.localhost", None),
        ("acme.my.example.com", None),
    ],
)
def test_my_domain_from_host(settings: object, host: str, slug: str | None) -> None:
    settings.CRM_URL = "http://localhost:8001"  # type: ignore[attr-defined]

    assert my_domain_from_host(host) == slug


def test_network_access_range_is_validated_and_audited(org: Org, admin: User) -> None:
    with pytest.raises(OrgInvalidError):
        trusted_ip_range_add(actor=admin, org=org, start_address="10.0.0.9", end_address="10.0.0.1")
    assert not TrustedIpRange.objects.exists()

    trusted_ip_range_add(actor=admin, org=org, start_address="10.0.0.1", end_address="10.0.0.9")

    assert TrustedIpRange.objects.count() == 1
    assert SetupAuditTrail.objects.filter(action="network_access.range_added").exists()
