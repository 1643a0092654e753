"""The 14-day auto-connection window: retried by the sweep, closed on day 15."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tandem.engagement.connect import services
from tandem.engagement.connect.models import CrmConnection
from tandem.engagement.connect.selectors import days_left
from tandem.engagement.connect.services.migration import auto_connect_sweep
from tests.engagement.connect.conftest import FakeCrm, mappings


def test_days_left_counts_down(upgraded: CrmConnection) -> None:
    assert days_left(upgraded) == 14
    with time_machine.travel(timezone.now() + timedelta(days=10, hours=1)):
        assert days_left(upgraded) == 4


def test_sweep_reconnects_a_user_once_the_crm_admin_assigned_them(
    upgraded: CrmConnection, crm: FakeCrm
) -> None:
    del crm.jwt_refusals["mark@acme.test"]

    reconnected = auto_connect_sweep()

    assert reconnected == 1
    assert mappings(upgraded.account)["mark@acme.test"] == "connected"


def test_sweep_after_the_window_erases_passwords_and_disconnects(
    upgraded: CrmConnection, crm: FakeCrm
) -> None:
    del crm.jwt_refusals["mark@acme.test"]
    calls_before = len(crm.calls)

    with time_machine.travel(timezone.now() + timedelta(days=15)):
        auto_connect_sweep()

    upgraded.refresh_from_db()
    assert mappings(upgraded.account)["mark@acme.test"] == "disconnected"
    assert upgraded.legacy_secret == ""
    assert len(crm.calls) == calls_before


def test_next_use_reconnects_a_pending_user(upgraded: CrmConnection, crm: FakeCrm) -> None:
    del crm.jwt_refusals["mark@acme.test"]

    services.connection_token(upgraded, "mark@acme.test")

    assert mappings(upgraded.account)["mark@acme.test"] == "connected"


def test_next_use_of_a_still_refused_user_says_why(upgraded: CrmConnection) -> None:
    with pytest.raises(services.ConnectError, match="not admin approved"):
        services.connection_token(upgraded, "mark@acme.test")

    assert mappings(upgraded.account)["mark@acme.test"] == "pending"
