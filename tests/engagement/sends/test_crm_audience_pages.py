"""The New send page: CRM audiences, checked beside their input before anything is saved."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect.models import CrmConnection
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends.audiences import CONNECT_NEEDED, MAX_IDS
from tandem.engagement.sends.crm_gate import NOT_CONFIGURED as CONNECT_NOT_CONFIGURED
from tandem.engagement.sends.models import AudienceKind, Send, SendStatus
from tandem.engagement.sends.services import send_begin, send_create, send_schedule
from tandem.engagement.studio.models import Email
from tests.engagement.conftest import client_for, make_user
from tests.engagement.sends.conftest import make_audience
from tests.engagement.sends.helpers import C1, C2, L1, connect

NEW = "/email/interactions/new/"


@pytest.fixture
def connected(account: Account) -> CrmConnection:
    return connect(account)


def post(client: Client, email: Email, kind: str, **inputs: str) -> Any:
    return client.post(
        NEW, {"name": "To the CRM", "email": email.id, "audience_kind": kind, **inputs}
    )


def beside(response: Any, kind: str) -> str:
    """The text of the block holding `kind`'s input (and its errors)."""
    found = re.search(rf'<div data-audience="{kind}">(.*?)</div>', response.content.decode(), re.S)
    assert found is not None, kind
    return found.group(1)


def test_without_connect_the_page_offers_data_extensions_only(marketer_client: Client) -> None:
    response = marketer_client.get(NEW)

    content = response.content.decode()
    assert response.status_code == 200
    assert "need Marketing Cloud Connect" in content
    assert 'value="report"' not in content
    assert 'name="report_id"' not in content


def test_with_connect_the_page_offers_every_audience(
    marketer_client: Client, connected: CrmConnection
) -> None:
    response = marketer_client.get(NEW)

    content = response.content.decode()
    for kind in AudienceKind.values:
        assert f'value="{kind}"' in content
    for name in ("report_id", "campaign_id", "contact_ids", "lead_ids", "sfde_name"):
        assert f'name="{name}"' in content
    assert "need Marketing Cloud Connect" not in content


@pytest.mark.parametrize(
    ("kind", "inputs", "ref"),
    [
        (AudienceKind.REPORT, {"report_id": "00O000000000001"}, "00O000000000001EAA"),
        (AudienceKind.CAMPAIGN, {"campaign_id": " 701000000000001AAA "}, "701000000000001AAA"),
        (
            AudienceKind.CONTACT,
            {"contact_ids": f"{C1}, {C2}\n003A0000006Vm9r"},
            f"{C1}, {C2}, 003A0000006Vm9rIAC",
        ),
        (AudienceKind.CONTACT, {"contact_ids": f"{C1} {C1}"}, C1),
        (AudienceKind.LEAD, {"lead_ids": L1}, L1),
        (AudienceKind.SALESFORCE_DATA_EXTENSION, {"sfde_name": "Subscribers"}, "Subscribers"),
    ],
)
def test_a_crm_audience_creates_a_draft_with_its_kind_and_reference(
    marketer_client: Client,
    connected: CrmConnection,
    email: Email,
    audience: DataExtension,
    kind: str,
    inputs: dict[str, str],
    ref: str,
) -> None:
    response = post(marketer_client, email, kind, **inputs)

    send = Send.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/email/interactions/{send.id}/"
    assert (send.audience_kind, send.audience_ref) == (kind, ref)
    assert send.data_extension is None
    assert send.status == SendStatus.DRAFT


def test_the_data_extension_choice_creates_a_data_extension_send(
    marketer_client: Client, connected: CrmConnection, email: Email, audience: DataExtension
) -> None:
    response = post(
        marketer_client,
        email,
        AudienceKind.DATA_EXTENSION,
        data_extension=str(audience.id),
        report_id="00O000000000001",
    )

    send = Send.objects.get()
    assert response.status_code == 302
    assert (send.audience_kind, send.data_extension, send.audience_ref) == (
        AudienceKind.DATA_EXTENSION,
        audience,
        "",
    )


@pytest.mark.parametrize(
    ("kind", "inputs", "message"),
    [
        (AudienceKind.REPORT, {}, "Enter a report Id."),
        (AudienceKind.REPORT, {"report_id": "   "}, "Enter a report Id."),
        (AudienceKind.REPORT, {"report_id": "00O00000000001"}, "is not a Salesforce Id"),
        (AudienceKind.REPORT, {"report_id": "00O0000000000010"}, "is not a Salesforce Id"),
        (AudienceKind.REPORT, {"report_id": "00O000000000001' OR"}, "is not a Salesforce Id"),
        (AudienceKind.REPORT, {"report_id": "701000000000001"}, "report Ids start with 00O"),
        (AudienceKind.REPORT, {"report_id": "00o000000000001"}, "report Ids start with 00O"),
        (AudienceKind.CAMPAIGN, {}, "Enter a campaign Id."),
        (AudienceKind.CAMPAIGN, {"campaign_id": "00O000000000001"}, "campaign Ids start with 701"),
        (
            AudienceKind.CAMPAIGN,
            {"campaign_id": "701000000000001AAA 701000000000002AAA"},
            "is not a Salesforce Id",
        ),
        (AudienceKind.CONTACT, {"contact_ids": " , "}, "Enter at least one contact Id."),
        (AudienceKind.CONTACT, {"contact_ids": f"{C1}, {L1}"}, "contact Ids start with 003"),
        (AudienceKind.CONTACT, {"contact_ids": f"{C1}, 003x"}, "is not a Salesforce Id"),
        (
            AudienceKind.CONTACT,
            {"contact_ids": " ".join(f"003{n:012d}AAA" for n in range(MAX_IDS + 1))},
            f"At most {MAX_IDS} contact Ids",
        ),
        (AudienceKind.LEAD, {}, "Enter at least one lead Id."),
        (AudienceKind.LEAD, {"lead_ids": C1}, "lead Ids start with 00Q"),
        (AudienceKind.SALESFORCE_DATA_EXTENSION, {}, "Enter the data extension&#x27;s name."),
        (
            AudienceKind.SALESFORCE_DATA_EXTENSION,
            {"sfde_name": "Nope"},
            "There is no data extension named &#x27;Nope&#x27;",
        ),
    ],
)
def test_a_bad_crm_reference_is_refused_beside_its_input_and_nothing_is_created(
    marketer_client: Client,
    connected: CrmConnection,
    email: Email,
    audience: DataExtension,
    kind: str,
    inputs: dict[str, str],
    message: str,
) -> None:
    response = post(marketer_client, email, kind, **inputs)

    assert response.status_code == 200
    assert message in beside(response, kind)
    assert not Send.objects.exists()


def test_another_accounts_data_extension_is_not_a_salesforce_data_extension(
    marketer_client: Client, connected: CrmConnection, email: Email, other_account: Account
) -> None:
    make_audience(other_account, 1, name="Theirs")

    response = post(
        marketer_client, email, AudienceKind.SALESFORCE_DATA_EXTENSION, sfde_name="Theirs"
    )

    assert "There is no data extension named &#x27;Theirs&#x27;" in beside(
        response, AudienceKind.SALESFORCE_DATA_EXTENSION
    )
    assert not Send.objects.exists()


def test_the_data_extension_choice_without_one_is_refused_beside_it(
    marketer_client: Client, connected: CrmConnection, email: Email
) -> None:
    response = post(marketer_client, email, AudienceKind.DATA_EXTENSION)

    assert "Choose a data extension of this account." in beside(response, "data_extension")
    assert not Send.objects.exists()


@pytest.mark.parametrize(
    "kind",
    [
        AudienceKind.REPORT,
        AudienceKind.CAMPAIGN,
        AudienceKind.CONTACT,
        AudienceKind.LEAD,
        AudienceKind.SALESFORCE_DATA_EXTENSION,
    ],
)
def test_without_connect_a_crm_audience_is_refused_and_nothing_is_created(
    marketer_client: Client, email: Email, audience: DataExtension, kind: str
) -> None:
    response = post(
        marketer_client,
        email,
        kind,
        report_id="00O000000000001",
        campaign_id="701000000000001",
        contact_ids=C1,
        lead_ids=L1,
        sfde_name="Subscribers",
    )

    assert response.status_code == 200
    assert CONNECT_NEEDED.replace("'", "&#x27;") in response.content.decode()
    assert not Send.objects.exists()


def test_another_accounts_connection_does_not_count(
    outsider_client: Client, connected: CrmConnection, other_account: Account
) -> None:
    theirs = Email.objects.create(account=other_account, name="Theirs", subject="Hi")

    response = post(outsider_client, theirs, AudienceKind.CAMPAIGN, campaign_id="701000000000001")

    assert CONNECT_NEEDED in response.content.decode()
    assert not Send.objects.exists()


def test_an_unknown_audience_kind_is_refused(
    marketer_client: Client, connected: CrmConnection, email: Email
) -> None:
    response = post(marketer_client, email, "spreadsheet")

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Send.objects.exists()


def test_the_form_needs_the_csrf_token(
    marketer: User, connected: CrmConnection, email: Email
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)

    response = post(client, email, AudienceKind.CAMPAIGN, campaign_id="701000000000001")

    assert response.status_code == 403
    assert not Send.objects.exists()


def test_an_anonymous_visitor_is_sent_to_login_and_nothing_is_created(
    connected: CrmConnection, email: Email
) -> None:
    response = post(Client(), email, AudienceKind.CAMPAIGN, campaign_id="701000000000001")

    assert response.status_code == 302
    assert "login" in response["Location"]
    assert not Send.objects.exists()


def test_a_user_without_an_account_is_refused_and_nothing_is_created(
    connected: CrmConnection, email: Email
) -> None:
    client = client_for(make_user(None, "nobody", "marketing_user"))

    response = post(client, email, AudienceKind.CAMPAIGN, campaign_id="701000000000001")

    assert response.status_code == 403
    assert not Send.objects.exists()


def crm_send(marketer: User, email: Email) -> Send:
    assert marketer.account is not None
    return send_create(
        actor=marketer,
        account=marketer.account,
        name="To the campaign",
        email=email,
        audience_kind=AudienceKind.CAMPAIGN,
        audience_ref="701000000000001AAA",
    )


def test_the_detail_and_list_show_a_crm_audiences_kind_and_reference(
    marketer_client: Client, marketer: User, email: Email
) -> None:
    send = crm_send(marketer, email)

    detail = marketer_client.get(f"/email/interactions/{send.id}/").content.decode()
    listing = marketer_client.get("/email/interactions/").content.decode()

    assert '<span class="audience-kind">Campaign</span>' in detail
    assert '<strong class="audience-ref">701000000000001AAA</strong>' in detail
    assert "Campaign 701000000000001AAA" in listing


def test_a_failed_crm_audience_send_shows_its_reason_on_the_detail_and_list(
    marketer_client: Client,
    marketer: User,
    email: Email,
    django_capture_on_commit_callbacks: Any,
) -> None:
    send = crm_send(marketer, email)
    with django_capture_on_commit_callbacks(execute=False):
        send_schedule(actor=marketer, send=send)
    send_begin(send_id=send.id)  # no Connect: admission refuses the send

    detail = marketer_client.get(f"/email/interactions/{send.id}/").content.decode()
    listing = marketer_client.get("/email/interactions/").content.decode()

    send.refresh_from_db()
    assert send.status == SendStatus.FAILED
    assert CONNECT_NOT_CONFIGURED in detail
    assert CONNECT_NOT_CONFIGURED in listing
