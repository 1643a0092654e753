"""`tandem send create` to audiences from the CRM: exactly one audience option, checked first."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tandem.cli.main import app
from tandem.engagement.accounts.models import Account
from tandem.engagement.connect.models import CrmConnection
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends.models import AudienceKind, Send
from tandem.engagement.studio.models import Email
from tests.engagement.sends.helpers import C1, C2, L1, connect

runner = CliRunner()
CREATE = ["send", "create", "--email", "Welcome"]


@pytest.fixture
def connected(account: Account) -> CrmConnection:
    return connect(account)


@pytest.mark.parametrize(
    ("options", "kind", "ref"),
    [
        (["--report", "00O000000000001"], AudienceKind.REPORT, "00O000000000001EAA"),
        (["--campaign", "701000000000001AAA"], AudienceKind.CAMPAIGN, "701000000000001AAA"),
        (["--contacts", f"{C1},{C2}"], AudienceKind.CONTACT, f"{C1}, {C2}"),
        (["--leads", L1], AudienceKind.LEAD, L1),
        (["--sfde", "Subscribers"], AudienceKind.SALESFORCE_DATA_EXTENSION, "Subscribers"),
    ],
)
def test_each_crm_option_creates_a_draft_to_that_audience(
    connected: CrmConnection,
    email: Email,
    audience: DataExtension,
    options: list[str],
    kind: str,
    ref: str,
) -> None:
    result = runner.invoke(app, [*CREATE, *options, "--rate", "5"])

    assert result.exit_code == 0, result.output
    send = Send.objects.get()
    assert result.stdout.strip() == str(send.id)
    assert (send.audience_kind, send.audience_ref, send.data_extension) == (kind, ref, None)
    assert send.max_per_second == 5
    assert send.events.get().actor_label == "tandem command"


def test_the_de_option_still_creates_a_data_extension_send(
    connected: CrmConnection, email: Email, audience: DataExtension
) -> None:
    result = runner.invoke(app, [*CREATE, "--de", "Subscribers"])

    assert result.exit_code == 0, result.output
    send = Send.objects.get()
    assert (send.audience_kind, send.data_extension) == (AudienceKind.DATA_EXTENSION, audience)


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--de", "Subscribers", "--report", "00O000000000001"],
        ["--campaign", "701000000000001", "--leads", L1],
    ],
)
def test_zero_or_two_audiences_exit_2_and_create_nothing(
    connected: CrmConnection, email: Email, audience: DataExtension, options: list[str]
) -> None:
    result = runner.invoke(app, [*CREATE, *options])

    assert result.exit_code == 2
    assert "give exactly one audience" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not Send.objects.exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--report", "701000000000001"], "--report: '701000000000001' is not a report Id"),
        (["--campaign", "nope"], "--campaign: 'nope' is not a Salesforce Id"),
        (["--contacts", " , "], "--contacts: Enter at least one contact Id."),
        (["--leads", C1], "is not a lead Id: lead Ids start with 00Q"),
        (["--sfde", "Nope"], "--sfde: There is no data extension named 'Nope'"),
    ],
)
def test_a_bad_crm_reference_exits_2_with_one_line_and_creates_nothing(
    connected: CrmConnection,
    email: Email,
    audience: DataExtension,
    options: list[str],
    message: str,
) -> None:
    result = runner.invoke(app, [*CREATE, *options])

    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not Send.objects.exists()


def test_a_crm_audience_without_connect_exits_2_and_creates_nothing(
    email: Email, audience: DataExtension
) -> None:
    result = runner.invoke(app, [*CREATE, "--campaign", "701000000000001"])

    assert result.exit_code == 2
    assert "need Marketing Cloud Connect" in result.output
    assert not Send.objects.exists()
