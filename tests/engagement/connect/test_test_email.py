"""Send Test Email: delivered through the ordinary pipeline, its result written to the CRM,
and its opens and clicks written back to that same result later, like any send's."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect.client import CrmError, CrmResult, CrmToken
from tandem.engagement.connect.models import CrmConnection, EmailResultLink
from tandem.engagement.connect.testmail import connect_test_email_send
from tandem.engagement.connect.writeback import IER, TRACKING_KEY, tracking_write
from tandem.engagement.sends.models import SendRecord
from tandem.engagement.sends.services import tracking_click, tracking_open
from tandem.engagement.sends.tracking import record_id_from_token
from tandem.engagement.studio.models import Email
from tests.engagement.connect.conftest import FakeCrm
from tests.engagement.sends.conftest import Sink, sink  # noqa: F401


class UpsertingCrm(FakeCrm):
    upserts: list[tuple[str, str, dict[str, Any]]]

    def record_upsert(
        self, *, token: CrmToken, sobject: str, field: str, key: str, fields: dict[str, Any]
    ) -> CrmResult:
        self.upserts.append((sobject, key, fields))
        return CrmResult({"id": "a00000000000001AAA", "success": True, "created": False})


@pytest.fixture
def crm_up(
    crm: FakeCrm,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
    sink: Sink,  # noqa: F811
) -> UpsertingCrm:
    fake = UpsertingCrm(users=crm.users, passwords=crm.passwords)
    fake.upserts = []
    settings.CONNECT_CRM_CLIENT = lambda: fake
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    return fake


@pytest.fixture
def plain(account: Account) -> Email:
    return Email.objects.create(
        account=account,
        name="Connect check",
        subject="Connect works",
        from_name="Northwind",
        from_address="news@northwind.test",
        html_body='<html><body><p>Hello</p><a href="https://northwind.test/x">Go</a></body></html>',
        text_body="Hello",
    )


def record_of(sink: Sink) -> int:  # noqa: F811
    html = sink.messages[-1].get_body(("html",)).get_content()  # type: ignore[union-attr]
    token = re.search(r"/t/([A-Za-z0-9_=-]+)", html)
    assert token is not None, html
    record_id = record_id_from_token(token.group(1))
    assert record_id is not None
    return record_id


def test_opens_and_clicks_of_the_test_email_are_written_back(
    upgraded: CrmConnection,
    admin: User,
    plain: Email,
    crm_up: UpsertingCrm,
    sink: Sink,  # noqa: F811
) -> None:
    result = connect_test_email_send(actor=admin, connection=upgraded, email=plain)

    record = SendRecord.objects.get(send=result.send)
    created = [r for r in crm_up.records if r["sobject"] == IER]
    assert [m["To"] for m in sink.messages] == ["system@acme.test"]
    assert record_of(sink) == record.pk
    assert len(created) == 1
    assert created[0][TRACKING_KEY] == f"{record.send_id}:{record.pk}"
    assert created[0]["et4ae5__Opened__c"] is False
    assert EmailResultLink.objects.get(record=record).crm_id == result.tracking_id

    tracking_open(record_id=record.pk, user_agent="test")
    assert tracking_click(record_id=record.pk, link_index=0, user_agent="test")
    assert tracking_write(account_id=upgraded.account_id) == 1

    ((sobject, key, fields),) = crm_up.upserts
    assert (sobject, key) == (IER, f"{record.send_id}:{record.pk}")
    assert fields["et4ae5__Opened__c"] is True
    assert fields["et4ae5__Clicked__c"] is True
    assert fields["et4ae5__NumberOfUniqueClicks__c"] == 1
    assert tracking_write(account_id=upgraded.account_id) == 0  # nothing changed since


class LossyCrm(UpsertingCrm):
    """Creates the result, then the answer is lost; finds it again by its tracking key."""

    def record_create(self, *, token: CrmToken, sobject: str, fields: dict[str, Any]) -> CrmResult:
        super().record_create(token=token, sobject=sobject, fields=fields)
        raise CrmError("unreachable", "the CRM's answer was lost (ReadTimeout)")

    def query(self, *, token: CrmToken, soql: str) -> CrmResult:
        rows = [
            {"Id": "a00000000000001AAA", TRACKING_KEY: r[TRACKING_KEY]}
            for r in self.records
            if f"'{r[TRACKING_KEY]}'" in soql
        ]
        return CrmResult({"records": rows})


def test_a_lost_answer_finds_the_written_result_instead_of_failing(
    settings: Any,
    upgraded: CrmConnection,
    admin: User,
    plain: Email,
    crm_up: UpsertingCrm,
    monkeypatch: pytest.MonkeyPatch,
    sink: Sink,  # noqa: F811
) -> None:
    lossy = LossyCrm(users=crm_up.users, passwords=crm_up.passwords)
    lossy.upserts = []
    settings.CONNECT_CRM_CLIENT = lambda: lossy

    result = connect_test_email_send(actor=admin, connection=upgraded, email=plain)

    assert len(lossy.records) == 1
    assert result.tracking_id == "a00000000000001AAA"
    assert EmailResultLink.objects.get(record__send=result.send).crm_id == "a00000000000001AAA"
