"""Rotating a consumer secret: only the org that owns the app, whichever surface calls the
service; a refusal changes nothing."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from tandem.crm.connectedapps.errors import ConnectedAppInvalidError
from tandem.crm.connectedapps.models import ConnectedApp
from tandem.crm.connectedapps.services import (
    connected_app_policy_ensure,
    connected_app_secret_rotate,
)
from tandem.crm.oauth.crypto import secret_matches
from tandem.crm.setup.models import SetupAuditTrail
from tests.crm.connectedapps.conftest import run_connectedapp
from tests.crm.oauth.conftest import make_app


def _stored(app_id: str) -> tuple[str, bytes | str, object]:
    row = ConnectedApp.objects.get(pk=app_id)
    return row.client_secret, row.consumer_secret_encrypted, row.secret_rotated_at


def test_the_owning_org_rotates_and_the_old_secret_stops_working(org, admin):
    app = make_app(org)

    secret = connected_app_secret_rotate(actor=admin, app=app.app, org=org)

    app.app.refresh_from_db()
    assert secret_matches(secret, app.app.client_secret)
    assert not secret_matches(app.secret, app.app.client_secret)


def test_an_admin_of_another_org_is_refused_and_nothing_changes(org, other_org, outsider):
    app = make_app(org)
    connected_app_policy_ensure(app=app.app, org=other_org)  # the app is in Globex's list too
    before, audit_rows = _stored(app.app.pk), SetupAuditTrail.objects.count()

    with pytest.raises(ConnectedAppInvalidError):
        connected_app_secret_rotate(actor=outsider, app=app.app, org=other_org)

    assert _stored(app.app.pk) == before
    assert SetupAuditTrail.objects.count() == audit_rows
    app.app.refresh_from_db()
    assert secret_matches(app.secret, app.app.client_secret)


def test_the_command_line_is_refused_for_another_org(org, other_org):
    app = make_app(org)
    connected_app_policy_ensure(app=app.app, org=other_org)
    before = _stored(app.app.pk)

    with pytest.raises(CommandError) as raised:
        run_connectedapp("rotate-secret", app.key, "--org", "globex")

    assert raised.value.returncode == 2
    assert "Only the org that owns the app" in str(raised.value)
    assert _stored(app.app.pk) == before
