"""The environment `tandem up` gives its children: Salesforce's JWT audiences only on request
(`tandem demo` asks), and a deployer's own choice is kept."""

from __future__ import annotations

import pytest

from tandem.cli.up import Stack, stack_env

SETTING = "TANDEM_OAUTH_SALESFORCE_AUDIENCES"


def test_the_salesforce_audiences_stay_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SETTING, raising=False)

    assert SETTING not in stack_env(Stack())


def test_a_stack_asking_for_them_turns_them_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SETTING, raising=False)

    assert stack_env(Stack(salesforce_audiences=True))[SETTING] == "true"


def test_the_deployer_s_own_value_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SETTING, "false")

    assert stack_env(Stack(salesforce_audiences=True))[SETTING] == "false"
