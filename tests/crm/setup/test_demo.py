"""The demo org seed (idempotent) and var/demo.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tandem.cli.demo_crm import write_demo_json
from tandem.crm.orgs.models import Org
from tandem.crm.setup.demo import DEMO_PASSWORD, demo_seed
from tandem.crm.users.models import User
from tandem.crm.users.services import user_authenticate_password

pytestmark = pytest.mark.django_db


def test_demo_seed_creates_the_org_and_its_logins() -> None:
    demo = demo_seed()

    roles = [u["role"] for u in demo["users"]]  # type: ignore[attr-defined]
    assert roles.count("admin") == 1
    assert roles.count("system_user") == 1
    assert roles.count("marketing_user") >= 2
    system = User.objects.get(username="mc-system@acme.demo")
    assert system.profile.name == "System Administrator"
    assert system.is_marketing_user
    assert Org.objects.get().allow_username_password_flows
    result = user_authenticate_password(username="admin@acme.demo", password=DEMO_PASSWORD,
                                        ip="127.0.0.1")  # fmt: skip
    assert result.ok


def test_demo_seed_is_idempotent() -> None:
    first = demo_seed()

    second = demo_seed()

    assert Org.objects.count() == 1
    assert User.objects.count() == len(first["users"])  # type: ignore[arg-type]
    assert first["org"] == second["org"]
    assert "security_token" not in second["users"][1]  # type: ignore[index]


def test_demo_json_keeps_other_parts_and_the_first_token(tmp_path: Path) -> None:
    path = tmp_path / "demo.json"
    path.write_text(json.dumps({"engagement": {"url": "x"}}))
    first = {"users": [{"username": "s", "security_token": "T" * 24}], "org": {}}
    second = {"users": [{"username": "s"}], "org": {}}

    write_demo_json(path, first)
    write_demo_json(path, second)

    saved = json.loads(path.read_text())
    assert saved["engagement"] == {"url": "x"}
    assert saved["crm"]["users"][0]["security_token"] == "T" * 24
