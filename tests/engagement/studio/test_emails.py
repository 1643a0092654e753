"""Emails: create, edit, personalization strings checked, preview for a chosen recipient."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.data.models import DataExtension
from tandem.engagement.studio.models import Email
from tests.engagement.data.conftest import run_import, subscribers  # noqa: F401

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Welcome",
    "subject": "Hello %%FirstName%%",
    "from_name": "Northwind",
    "from_address": "news@northwind.example",
    "html_body": "<p>Hi %%FirstName%%, your address is %%emailaddr%%.</p>",
    "text_body": "Hi %%firstname%% (%%_subscriberkey%%)",
}


@pytest.fixture
def email(account: Account) -> Email:
    return Email.objects.create(account=account, **FORM)


@pytest.fixture
def audience(admin: User, subscribers: DataExtension) -> DataExtension:  # noqa: F811
    run_import(
        admin,
        subscribers,
        "SubscriberKey,Email,FirstName\r\n"
        'k1,ann@example.com,<script>alert("x")</script> & Ann\r\n'
        "k2,bob@example.com,Bob\r\n",
    )
    return subscribers


def test_create_an_email(marketer_client: Client, account: Account) -> None:
    response = marketer_client.post("/email/content/emails/new/", FORM)

    created = Email.objects.get()
    assert response["Location"] == f"/email/content/emails/{created.pk}/preview/"
    assert (created.account, created.subject) == (account, "Hello %%FirstName%%")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("subject", "Hi %%FirstName", "Unclosed personalization string at position 3"),
        ("html_body", "<p>%%%%</p>", "Empty personalization string"),
        ("text_body", "Hi %%First*Name%%", "Invalid personalization string %%First*Name%%"),
        ("from_address", "not-an-address", "Enter a valid email address."),
        ("name", "", "This field is required."),
    ],
)
def test_bad_input_shows_the_error_next_to_the_field_and_saves_nothing(
    marketer_client: Client, account: Account, field: str, value: str, message: str
) -> None:
    response = marketer_client.post("/email/content/emails/new/", {**FORM, field: value})

    assert response.status_code == 200
    assert html.escape(message, quote=True) in response.content.decode()
    assert not Email.objects.exists()


def test_an_email_needs_a_body(marketer_client: Client, account: Account) -> None:
    response = marketer_client.post(
        "/email/content/emails/new/", {**FORM, "html_body": "", "text_body": ""}
    )

    assert b"Write an HTML body, a text body, or both." in response.content
    assert not Email.objects.exists()


def test_duplicate_name_is_a_field_error(marketer_client: Client, email: Email) -> None:
    response = marketer_client.post("/email/content/emails/new/", FORM)

    assert b"already exists" in response.content
    assert Email.objects.count() == 1


def test_edit_an_email(marketer_client: Client, email: Email) -> None:
    marketer_client.post(f"/email/content/emails/{email.pk}/", {**FORM, "subject": "New"})

    email.refresh_from_db()
    assert email.subject == "New"


def test_other_account_cannot_see_or_edit(outsider_client: Client, email: Email) -> None:
    for path in [
        f"/email/content/emails/{email.pk}/",
        f"/email/content/emails/{email.pk}/preview/",
    ]:
        assert outsider_client.get(path).status_code == 404
    outsider_client.post(f"/email/content/emails/{email.pk}/", {**FORM, "subject": "Hacked"})
    email.refresh_from_db()
    assert email.subject == FORM["subject"]


def test_anonymous_is_sent_to_login(email: Email) -> None:
    for path in ["/email/content/emails/", f"/email/content/emails/{email.pk}/preview/"]:
        assert Client().get(path)["Location"].startswith("/login/")


def test_email_list_shows_only_own_emails(outsider_client: Client, email: Email) -> None:
    assert b"Welcome" not in outsider_client.get("/email/content/emails/").content


def test_preview_fills_in_and_escapes_values_in_html(
    marketer_client: Client, email: Email, audience: DataExtension
) -> None:
    response = marketer_client.get(
        f"/email/content/emails/{email.pk}/preview/", {"data_extension": audience.pk, "key": "k1"}
    )

    preview = response.context["preview"]
    assert preview.subject == 'Hello <script>alert("x")</script> & Ann'
    assert preview.html_body == (
        "<p>Hi &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Ann, "
        "your address is ann@example.com.</p>"
    )
    assert preview.text_body == 'Hi <script>alert("x")</script> & Ann (k1)'
    assert b"<script>alert" not in response.content


def test_preview_without_a_key_uses_the_first_row(
    marketer_client: Client, email: Email, audience: DataExtension
) -> None:
    response = marketer_client.get(
        f"/email/content/emails/{email.pk}/preview/", {"data_extension": audience.pk, "key": ""}
    )

    assert response.context["preview"].values["_subscriberkey"] == "k1"


def test_preview_for_an_unknown_key_says_so(
    marketer_client: Client, email: Email, audience: DataExtension
) -> None:
    response = marketer_client.get(
        f"/email/content/emails/{email.pk}/preview/", {"data_extension": audience.pk, "key": "zz"}
    )

    assert b"No row of that data extension has this subscriber key." in response.content
    assert response.context["preview"] is None


def test_preview_cannot_read_another_accounts_data_extension(
    outsider: User, outsider_client: Client, audience: DataExtension
) -> None:
    theirs = Email.objects.create(account=outsider.account, **FORM)

    response = outsider_client.get(
        f"/email/content/emails/{theirs.pk}/preview/", {"data_extension": audience.pk}
    )

    assert response.status_code == 200
    assert response.context["preview"] is None
    assert b"ann@example.com" not in response.content
