"""Commands run by hand beside `tandem up` (another shell, no TANDEM_CRM_URL) reach and name
the running stack's services, on the ports it was started on."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tandem.cli.django import use_service
from tandem.cli.stack_record import stack_record
from tandem.cli.up import Stack, stack_env

URLS = ("TANDEM_CRM_URL", "TANDEM_ENGAGEMENT_URL")


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A shell with no stack URLs of its own, its var directory `tmp_path`."""
    monkeypatch.setenv("TANDEM_VAR_DIR", str(tmp_path))
    for name in (*URLS, "TANDEM_SERVICE", "DJANGO_SETTINGS_MODULE"):
        monkeypatch.setenv(name, "")  # restored afterwards…
        monkeypatch.delenv(name)  # …and absent meanwhile
    return tmp_path


def test_a_command_run_by_hand_takes_the_urls_tandem_up_gave_its_children(shell: Path) -> None:
    env = stack_env(Stack(crm_port=9123, engagement_port=9124))
    stack_record(env)

    use_service("crm")

    assert os.environ["TANDEM_CRM_URL"] == "http://localhost:9123"
    assert os.environ["TANDEM_ENGAGEMENT_URL"] == "http://localhost:9124"


def test_the_demo_s_record_serves_when_tandem_up_wrote_none(shell: Path) -> None:
    demo = {"crm": {"url": "http://localhost:9201"}, "engagement": {"url": "http://localhost:9202"}}
    (shell / "demo.json").write_text(json.dumps(demo), encoding="utf-8")

    use_service("crm")

    assert os.environ["TANDEM_CRM_URL"] == "http://localhost:9201"


def test_an_explicit_crm_url_wins(shell: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack_record(stack_env(Stack(crm_port=9123)))
    monkeypatch.setenv("TANDEM_CRM_URL", "https://crm.example.com")

    use_service("crm")

    assert os.environ["TANDEM_CRM_URL"] == "https://crm.example.com"


@pytest.mark.parametrize("record", ["", "not json", '["http://localhost:9123"]', '{"crm_url": 7}'])
def test_without_a_usable_record_nothing_is_set(shell: Path, record: str) -> None:
    if record:
        (shell / "stack.json").write_text(record, encoding="utf-8")

    use_service("crm")

    assert [name for name in URLS if name in os.environ] == []
