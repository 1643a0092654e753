"""`tandem crm connectedapp ip-range add|remove|list`: audited like the Setup page; bad input
exits 2 with one line and changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.management import CommandError

from tandem.crm.connectedapps.models import ConnectedAppIpRange
from tandem.crm.setup.models import SetupAuditTrail
from tests.crm.connectedapps.conftest import run_connectedapp
from tests.crm.oauth.conftest import make_app


def _snapshot() -> tuple[list[dict], int]:
    return list(ConnectedAppIpRange.objects.values()), SetupAuditTrail.objects.count()


def test_add_list_and_remove(org):
    app = make_app(org)
    name = app.app.name

    added = run_connectedapp(
        "ip-range",
        "add",
        "--org",
        "acme",
        name,
        "--start",
        "10.0.0.0",
        "--end",
        "10.0.0.255",
        "--description",
        "Office",
    )
    listed = run_connectedapp("ip-range", "list", "--org", org.id, app.key)
    removed = run_connectedapp(
        "ip-range",
        "remove",
        "--org",
        "acme",
        app.app.id,
        "--start",
        "10.0.0.0",
        "--end",
        "10.0.0.255",
    )

    office = {"start": "10.0.0.0", "end": "10.0.0.255", "description": "Office"}
    assert added == listed == {"app": name, "ip_ranges": [office]}
    assert removed == {"app": name, "ip_ranges": []}
    actions = list(
        SetupAuditTrail.objects.filter(action__startswith="connected_app.ip_range")
        .order_by("occurred_at")
        .values_list("action", "actor_id")
    )
    assert actions == [
        ("connected_app.ip_range_added", None),
        ("connected_app.ip_range_deleted", None),
    ]


def test_remove_matches_any_spelling_of_an_ipv6_range(org):
    app = make_app(org)
    run_connectedapp(
        "ip-range",
        "add",
        "--org",
        "acme",
        app.key,
        "--start",
        "2001:db8::",
        "--end",
        "2001:db8::ff",
    )

    removed = run_connectedapp(
        "ip-range",
        "remove",
        "--org",
        "acme",
        app.key,
        "--start",
        "2001:DB8:0::0",
        "--end",
        "2001:0db8::00ff",
    )

    assert removed["ip_ranges"] == []


@pytest.mark.parametrize(
    "args",
    [
        ["add", "--org", "acme", "Acme Integration", "--start", "10.0.0.9", "--end", "10.0.0.1"],
        ["add", "--org", "acme", "Acme Integration", "--start", "10.0.0.1", "--end", "::1"],
        ["add", "--org", "acme", "Acme Integration", "--start", "bad", "--end", "10.0.0.1"],
        ["add", "--org", "acme", "No Such App", "--start", "10.0.0.1", "--end", "10.0.0.1"],
        ["add", "--org", "nope", "Acme Integration", "--start", "10.0.0.1", "--end", "10.0.0.1"],
        ["remove", "--org", "acme", "Acme Integration", "--start", "10.9.0.0", "--end", "10.9.0.1"],
        ["remove", "--org", "acme", "Acme Integration", "--start", "bad", "--end", "bad"],
    ],
)
def test_bad_input_exits_2_with_one_line_and_changes_nothing(org, args):
    app = make_app(org)
    run_connectedapp(
        "ip-range", "add", "--org", "acme", app.key, "--start", "10.0.0.0", "--end", "10.0.0.255"
    )
    before = _snapshot()

    with pytest.raises(CommandError) as raised:
        run_connectedapp("ip-range", *args)

    assert raised.value.returncode == 2
    assert "\n" not in str(raised.value)
    assert _snapshot() == before


def test_the_real_command_exits_2_on_a_missing_verb(tmp_path):
    env = {**os.environ, "TANDEM_VAR_DIR": str(tmp_path), "TANDEM_SERVICE": "crm"}
    argv = [sys.executable, "-m", "tandem", "crm", "connectedapp", "ip-range"]

    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 2
