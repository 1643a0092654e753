"""Salesforce Integration pages: who may open them, the labels, bad input changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect.models import ConnectionState, CrmConnection, MigrationRun
from tests.engagement.conftest import client_for
from tests.engagement.connect.conftest import FakeCrm

URL = "/email/admin/salesforce-integration/"


pytestmark = pytest.mark.usefixtures("mc_consumer_key")


def test_anonymous_is_sent_to_login(db: None) -> None:
    response = Client().get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_marketing_user_is_refused_the_admin_pages(
    legacy: CrmConnection, marketer_client: Client
) -> None:
    assert marketer_client.get(URL + "upgrade/").status_code == 403
    assert marketer_client.get(URL + "preflight/").status_code == 403
    assert marketer_client.post(URL + "migrate/").status_code == 403


def test_other_accounts_admin_sees_nothing_of_this_one(
    legacy: CrmConnection, outsider_client: Client
) -> None:
    response = outsider_client.get(URL)

    assert response.status_code == 200
    assert "system@acme.test" not in response.content.decode()
    assert outsider_client.get(URL + "upgrade/").status_code == 404


def test_admin_menu_has_the_entry(admin_client: Client) -> None:
    page = admin_client.get("/email/admin/").content.decode()

    assert f'href="{URL}"' in page
    assert ">Salesforce Integration</a>" in page


def test_page_shows_mode_org_system_user_and_the_upgrade_button(
    legacy: CrmConnection, admin_client: Client
) -> None:
    page = admin_client.get(URL).content.decode()

    assert '<td id="mode">Legacy</td>' in page
    assert legacy.org_id in page
    assert "system@acme.test" in page
    assert "Upgrade to Connected App" in page
    assert "maria@acme.test" in page


def test_upgrade_button_is_gone_once_connected_app(
    legacy: CrmConnection, admin_client: Client
) -> None:
    CrmConnection.objects.filter(pk=legacy.pk).update(state=ConnectionState.CONNECTED_APP)

    page = admin_client.get(URL).content.decode()

    assert "Upgrade to Connected App" not in page
    assert "Send Test Email" in page


def test_mapping_a_user_asks_for_a_crm_password_only_under_legacy(
    legacy: CrmConnection, admin_client: Client
) -> None:
    before = admin_client.get(URL).content.decode()
    CrmConnection.objects.filter(pk=legacy.pk).update(state=ConnectionState.CONNECTED_APP)

    after = admin_client.get(URL).content.decode()

    assert "CRM password" in before
    assert "Security token" in before
    assert "Integrate for Salesforce.com Status" in after
    assert "CRM password" not in after
    assert "Security token" not in after


def test_upgrade_page_offers_connect_account(legacy: CrmConnection, admin_client: Client) -> None:
    assert "Connect Account" in admin_client.get(URL + "upgrade/").content.decode()


def test_continuing_without_the_checkbox_changes_nothing(
    legacy: CrmConnection, admin_client: Client
) -> None:
    response = admin_client.post(URL + "upgrade/acknowledge/", {"log_in_again": "on"})

    legacy.refresh_from_db()
    assert response.status_code == 400
    assert legacy.state == ConnectionState.LEGACY


def test_acknowledged_goes_to_the_my_domain_authorize_endpoint(
    legacy: CrmConnection, admin_client: Client
) -> None:
    response = admin_client.post(URL + "upgrade/acknowledge/", {"acknowledged": "on"})

    legacy.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"].startswith("https://acme.my.crm.test/services/oauth2/authorize?")
    assert legacy.state == ConnectionState.UPGRADING


def test_callback_as_the_wrong_user_explains_and_offers_accept(
    legacy: CrmConnection, admin: User, admin_client: Client, crm: FakeCrm
) -> None:
    admin_client.post(URL + "upgrade/acknowledge/", {"acknowledged": "on"})
    legacy.refresh_from_db()
    crm.code_identity = "maria@acme.test"

    response = admin_client.get(
        URL + "callback/", {"state": legacy.pending_oauth_state, "code": "c"}
    )

    page = response.content.decode()
    assert response.status_code == 409
    assert "not the system user" in page
    assert "Accept maria@acme.test as the new system user" in page


def test_callback_then_connect_shows_the_results_popup(
    legacy: CrmConnection, admin_client: Client, crm: FakeCrm
) -> None:
    admin_client.post(URL + "upgrade/acknowledge/", {"acknowledged": "on"})
    legacy.refresh_from_db()
    crm.code_identity = "system@acme.test"
    back = admin_client.get(URL + "callback/", {"state": legacy.pending_oauth_state, "code": "c"})
    form = admin_client.get(back["Location"]).content.decode()

    done = admin_client.post(URL + "upgrade/connect/", {"migrate_users": "on"})
    popup = admin_client.get(done["Location"]).content.decode()

    assert "Migrate Existing Users" in form
    assert ">Connect</button>" in form
    assert "<strong>2</strong> users reconnected" in popup
    assert '<form method="dialog"><button type="submit" value="ok"' in popup
    assert ">OK</button>" in popup
    assert MigrationRun.objects.count() == 1


def test_legacy_connect_with_a_wrong_password_shows_the_crm_reason(
    admin_client: Client, account: Account, crm: FakeCrm
) -> None:
    response = admin_client.post(
        URL + "connect-legacy/",
        {
            "login_url": "https://crm.test",
            "username": "system@acme.test",
            "password": "nope",
        },
    )

    assert response.status_code == 400
    assert "authentication failure" in response.content.decode()
    assert not CrmConnection.objects.exists()


def test_schedule_outage_defaults_to_two_hours(legacy: CrmConnection, admin_client: Client) -> None:
    page = admin_client.get(URL).content.decode()

    assert "Schedule Outage" in page
    assert 'name="duration" value="2"' in page


def test_results_of_another_account_are_not_shown(
    legacy: CrmConnection, admin: User, outsider: User
) -> None:
    run = MigrationRun.objects.create(account=legacy.account, succeeded=1, failed=0)

    page = client_for(outsider).get(URL, {"run": run.pk}).content.decode()

    assert "reconnected" not in page


def test_preflight_is_offered_while_upgrading(legacy: CrmConnection, admin_client: Client) -> None:
    CrmConnection.objects.filter(pk=legacy.pk).update(state=ConnectionState.UPGRADING)

    page = admin_client.get(URL).content.decode()

    assert 'href="/email/admin/salesforce-integration/preflight/"' in page
    assert admin_client.get(URL + "preflight/").status_code == 200


def test_api_usage_per_user_covers_the_chosen_range(
    legacy: CrmConnection, admin_client: Client, account: Account
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from tandem.engagement.connect.models import ApiCallDay

    ApiCallDay.objects.all().delete()
    today = timezone.now().date()
    for days_ago, calls in ((0, 2), (5, 3), (20, 7), (40, 100)):
        ApiCallDay.objects.create(
            account=account,
            day=today - timedelta(days=days_ago),
            crm_username="old@acme.test",
            calls=calls,
        )

    def user_calls(query: str) -> str:
        page = admin_client.get(URL + query).content.decode()
        table = page.split('id="api-usage-users"', 1)[1].split("</table>", 1)[0]
        return table.split("old@acme.test</td><td>", 1)[1].split("<", 1)[0]

    assert user_calls("?usage_days=1") == "2"
    assert user_calls("") == "5"  # the last 7 days, as the CRM's own usage page
    assert user_calls("?usage_days=30") == "12"
    assert user_calls("?usage_days=9999") == "5"  # not a choice: the default
