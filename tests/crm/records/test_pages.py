"""Record pages: anonymous → login, another org's user → 404, an org user sees the org's data."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tandem.crm.records.models import Contact, Report

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact(org: Any, admin: Any) -> Contact:
    return Contact.objects.create(
        org=org, owner=admin, last_name="Lovelace", name="Ada Lovelace", email="ada@acme.test"
    )


@pytest.fixture
def report(org: Any, admin: Any, contact: Contact) -> Report:
    return Report.objects.create(
        org=org,
        owner=admin,
        name="All contacts",
        developer_name="All_contacts",
        report_type="Contact",
        columns=["Name", "Email", "Account.Name"],
        sort_column="Name",
    )


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", ["/records/contacts/", "/records/reports/"])
def test_anonymous_is_sent_to_login(path: str, contact: Contact) -> None:
    response = Client().get(path)

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_list_shows_the_orgs_contacts(standard_user: Any, contact: Contact) -> None:
    response = _client(standard_user).get("/records/contacts/")

    assert response.status_code == 200
    assert "Ada Lovelace" in response.content.decode()


def test_list_hides_other_orgs_contacts(outsider: Any, contact: Contact) -> None:
    response = _client(outsider).get("/records/contacts/")

    assert "Ada Lovelace" not in response.content.decode()


def test_detail_of_another_orgs_record_is_404(outsider: Any, contact: Contact) -> None:
    assert _client(outsider).get(f"/records/contacts/{contact.pk}/").status_code == 404


def test_detail_shows_every_field(standard_user: Any, contact: Contact) -> None:
    body = _client(standard_user).get(f"/records/contacts/{contact.pk}/").content.decode()

    assert "ada@acme.test" in body
    assert "Email Opt Out" in body or "HasOptedOutOfEmail" in body


def test_unknown_object_is_404(standard_user: Any) -> None:
    assert _client(standard_user).get("/records/widgets/").status_code == 404


def test_report_run_page_shows_rows(standard_user: Any, report: Report) -> None:
    body = _client(standard_user).get(f"/records/reports/{report.pk}/run/").content.decode()

    assert "Total Records: <strong>1</strong>" in body
    assert "ada@acme.test" in body


def test_report_of_another_org_is_404(outsider: Any, report: Report) -> None:
    assert _client(outsider).get(f"/records/reports/{report.pk}/run/").status_code == 404


def test_home_links_to_records(standard_user: Any) -> None:
    body = _client(standard_user).get("/").content.decode()

    assert 'href="/records/contacts/"' in body
