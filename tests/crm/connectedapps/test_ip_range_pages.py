"""The Connected App's Trusted IP Range for OAuth Web Server Flow section: New and Delete,
audited, CSRF-protected, the policy editors' permissions; bad input shows a message beside the
field and saves nothing."""

from __future__ import annotations

import pytest

from tandem.crm.connectedapps.models import ConnectedAppIpRange
from tandem.crm.connectedapps.services import connected_app_ip_range_add
from tandem.crm.setup.models import SetupAuditTrail
from tests.crm.conftest import signed_in
from tests.crm.oauth.conftest import make_app

BASE = "/setup/connected-apps/"
GOOD = {"start_address": "10.0.0.0", "end_address": "10.0.0.255", "description": "Office"}


def _new_url(app) -> str:
    return f"{BASE}{app.app.id}/ip-ranges/new/"


def _delete_url(app, row) -> str:
    return f"{BASE}{app.app.id}/ip-ranges/{row.id}/delete/"


def _range(app, start="10.0.0.0", end="10.0.0.255"):
    return connected_app_ip_range_add(
        actor=None, policy=app.policy, start_address=start, end_address=end
    )


def _snapshot() -> tuple[list[dict], int]:
    return list(ConnectedAppIpRange.objects.values()), SetupAuditTrail.objects.count()


def test_detail_page_lists_the_ranges_with_new_and_delete(org, admin):
    app = make_app(org)
    row = _range(app)

    page = signed_in(admin).get(f"{BASE}{app.app.id}/").content.decode()

    assert "Trusted IP Range for OAuth Web Server Flow" in page
    assert _new_url(app) in page
    assert _delete_url(app, row) in page
    assert "10.0.0.255" in page


def test_new_page_has_the_salesforce_labels(org, admin):
    app = make_app(org)

    page = signed_in(admin).get(_new_url(app)).content.decode()

    for label in ("Start IP Address", "End IP Address", "Description", "Save"):
        assert label in page


def test_admin_adds_a_range_and_it_is_audited(org, admin):
    app = make_app(org)

    response = signed_in(admin).post(_new_url(app), GOOD)

    assert response.status_code == 302
    assert response["Location"] == f"{BASE}{app.app.id}/"
    row = ConnectedAppIpRange.objects.get()
    assert (row.app_id, row.org_id, row.description) == (app.app.id, org.id, "Office")
    audit = SetupAuditTrail.objects.get(action="connected_app.ip_range_added")
    assert audit.actor == admin
    assert audit.section == "Connected Apps"
    assert audit.new_value == {"start": "10.0.0.0", "end": "10.0.0.255", "description": "Office"}


def test_an_ipv6_range_is_stored_in_canonical_form(org, admin):
    app = make_app(org)

    signed_in(admin).post(
        _new_url(app), {"start_address": "2001:DB8:0::0", "end_address": "2001:db8::ffff"}
    )

    row = ConnectedAppIpRange.objects.get()
    assert (row.start_address, row.end_address) == ("2001:db8::", "2001:db8::ffff")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"start_address": "10.0.0.300", "end_address": "10.0.0.1"},
            "start_address",
            "Enter a valid IPv4 or IPv6 address.",
        ),
        (
            {"start_address": "10.0.0.1", "end_address": "nope"},
            "end_address",
            "Enter a valid IPv4 or IPv6 address.",
        ),
        (
            {"start_address": "10.0.0.9", "end_address": "10.0.0.1"},
            "end_address",
            "The end address must not come before the start address.",
        ),
        (
            {"start_address": "10.0.0.1", "end_address": "2001:db8::1"},
            "end_address",
            "The start and end addresses must both be IPv4 or both IPv6.",
        ),
        (
            {"start_address": "fe80::1%eth0", "end_address": "fe80::2"},
            "start_address",
            "Enter a valid IPv4 or IPv6 address.",
        ),
        (
            {"start_address": "", "end_address": "10.0.0.1"},
            "start_address",
            "This field is required.",
        ),
    ],
)
def test_bad_input_is_shown_beside_the_field_and_saves_nothing(org, admin, data, field, message):
    app = make_app(org)
    before = _snapshot()

    response = signed_in(admin).post(_new_url(app), data)

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert f'id="id_{field}_errors"' in response.content.decode()
    assert _snapshot() == before


def test_admin_deletes_a_range_and_it_is_audited(org, admin):
    app = make_app(org)
    row = _range(app)

    response = signed_in(admin).post(_delete_url(app, row))

    assert response.status_code == 302
    assert not ConnectedAppIpRange.objects.exists()
    audit = SetupAuditTrail.objects.get(action="connected_app.ip_range_deleted")
    assert audit.actor == admin
    assert audit.old_value == {"start": "10.0.0.0", "end": "10.0.0.255", "description": ""}


def test_delete_needs_a_post(org, admin):
    app = make_app(org)
    row = _range(app)
    before = _snapshot()

    response = signed_in(admin).get(_delete_url(app, row))

    assert response.status_code == 405
    assert _snapshot() == before


def test_a_range_of_another_app_cannot_be_deleted_through_this_one(org, admin):
    app, other = make_app(org), make_app(org)
    row = _range(other)
    before = _snapshot()

    response = signed_in(admin).post(f"{BASE}{app.app.id}/ip-ranges/{row.id}/delete/")

    assert response.status_code == 404
    assert _snapshot() == before


def test_anonymous_is_sent_to_login_and_nothing_changes(org):
    app = make_app(org)
    row = _range(app)
    before = _snapshot()

    for response in (
        signed_in().post(_new_url(app), GOOD),
        signed_in().post(_delete_url(app, row)),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
    assert _snapshot() == before


def test_non_admin_is_forbidden_and_nothing_changes(org, marketer):
    app = make_app(org)
    row = _range(app)
    before = _snapshot()

    assert signed_in(marketer).get(_new_url(app)).status_code == 403
    assert signed_in(marketer).post(_new_url(app), GOOD).status_code == 403
    assert signed_in(marketer).post(_delete_url(app, row)).status_code == 403
    assert _snapshot() == before


def test_admin_of_another_org_gets_404_and_nothing_changes(org, outsider):
    app = make_app(org)
    row = _range(app)
    before = _snapshot()

    assert signed_in(outsider).get(_new_url(app)).status_code == 404
    assert signed_in(outsider).post(_new_url(app), GOOD).status_code == 404
    assert signed_in(outsider).post(_delete_url(app, row)).status_code == 404
    assert _snapshot() == before


def test_posts_without_a_csrf_token_are_refused(org, admin):
    app = make_app(org)
    row = _range(app)
    before = _snapshot()
    client = signed_in(admin, enforce_csrf_checks=True)

    assert client.post(_new_url(app), GOOD).status_code == 403
    assert client.post(_delete_url(app, row)).status_code == 403
    assert _snapshot() == before
