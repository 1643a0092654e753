"""The Synchronized Data Sources pages and what the Salesforce Integration page shows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect.models import CrmConnection, Outage
from tandem.engagement.data.models import DataExtension
from tandem.engagement.syncs.models import SyncSource
from tandem.engagement.syncs.setup import source_setup
from tests.engagement.syncs.conftest import SyncCrm

URL = "/email/admin/salesforce-integration/sync/"


@pytest.fixture
def leads(legacy: CrmConnection, sync_crm: SyncCrm) -> SyncCrm:
    sync_crm.put("Lead", "00Q000000000000001", Email="l1@example.com", Company="Acme")
    return sync_crm


def test_index_offers_every_crm_object(leads: SyncCrm, admin_client: Client) -> None:
    page = admin_client.get(URL).content.decode()
    assert "/sync/Contact/setup/" in page
    assert "/sync/Lead/setup/" in page


def test_setup_page_lists_the_objects_fields(leads: SyncCrm, admin_client: Client) -> None:
    page = admin_client.get(URL + "Lead/setup/").content.decode()
    assert 'value="Company"' in page
    assert 'value="Email"' in page


def test_setup_saves_the_source(leads: SyncCrm, admin_client: Client) -> None:
    response = admin_client.post(
        URL + "Lead/setup/", {"fields": ["Email", "Company"], "schedule": "1h"}
    )
    assert response.status_code == 302
    source = SyncSource.objects.get()
    assert (source.fields, source.schedule) == (["Id", "Email", "Company"], "1h")


def test_unknown_field_is_named_beside_it_and_nothing_is_saved(
    leads: SyncCrm, admin_client: Client
) -> None:
    response = admin_client.post(URL + "Lead/setup/", {"fields": ["Email", "Bogus__c"]})
    assert response.status_code == 400
    page = response.content.decode()
    row = page.split('data-field="Bogus__c"')[1].split("</tr>")[0]
    assert "No such field, or the system user cannot read it." in row
    assert not SyncSource.objects.exists()
    assert not DataExtension.objects.exists()


def test_run_now_shows_the_counts_and_last_sync(
    leads: SyncCrm, admin_client: Client, account: Account
) -> None:
    source_setup(account=account, object_name="Lead", fields=["Email"])
    admin_client.post(URL + "Lead/run/")
    page = admin_client.get(URL).content.decode()
    row = page.split('data-object="Lead"')[1].split("</tr>")[0]
    assert "Done" in row
    integration = admin_client.get("/email/admin/salesforce-integration/").content.decode()
    last_sync = integration.split("<th>Last sync</th>")[1].split("</tr>")[0]
    assert "never" not in last_sync


def test_the_outage_lists_scheduled_sources(
    leads: SyncCrm, admin_client: Client, account: Account, admin: User
) -> None:
    source_setup(account=account, object_name="Lead", fields=["Email"])
    now = timezone.now()
    Outage.objects.create(
        account=account,
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(hours=2),
        created_by=admin,
    )
    page = admin_client.get("/email/admin/salesforce-integration/").content.decode()
    assert '<span class="paused-syncs">Lead_Salesforce</span>' in page


def test_marketing_users_cannot_set_up(leads: SyncCrm, marketer_client: Client) -> None:
    response = marketer_client.post(URL + "Lead/setup/", {"fields": ["Email"]})
    assert response.status_code == 403
    assert not SyncSource.objects.exists()


def test_filtered_de_is_saved_from_its_page_and_a_bad_condition_is_named(
    leads: SyncCrm, admin_client: Client, account: Account
) -> None:
    from tandem.engagement.syncs.models import FilteredDataExtension

    source = source_setup(account=account, object_name="Lead", fields=["Email", "Company"])
    bad = admin_client.post(
        URL + "filtered/",
        {"name": "Acme", "source": str(source.pk), "conditions": "Phone equals 1"},
    )
    assert bad.status_code == 400
    assert "&#x27;Phone&#x27; is not a field of Lead_Salesforce" in bad.content.decode()
    assert not FilteredDataExtension.objects.exists()
    good = admin_client.post(
        URL + "filtered/",
        {"name": "Acme", "source": str(source.pk), "conditions": "Company equals Acme"},
    )
    assert good.status_code == 302
    assert FilteredDataExtension.objects.get().name == "Acme"
    assert "Company equals Acme" in admin_client.get(URL + "filtered/").content.decode()


# --- who sees the link ----------------------------------------------------------------------

LINK = f'href="{URL}"'
LINKING_PAGES = ["/email/subscribers/", "/email/admin/salesforce-integration/"]


@pytest.mark.parametrize("page", LINKING_PAGES)
def test_administrators_see_the_link_and_may_open_it(
    leads: SyncCrm, admin_client: Client, page: str
) -> None:
    shown = admin_client.get(page)
    assert shown.status_code == 200
    assert LINK in shown.content.decode()
    assert admin_client.get(URL).status_code == 200


@pytest.mark.parametrize("page", LINKING_PAGES)
def test_other_members_see_no_link_to_the_page_they_may_not_open(
    leads: SyncCrm, marketer_client: Client, page: str
) -> None:
    shown = marketer_client.get(page)
    assert shown.status_code == 200
    assert LINK not in shown.content.decode()
    assert marketer_client.get(URL).status_code == 403
