"""Fault test: a proxy in front of the CRM drops answers after the CRM committed.

The real HTTP client talks to an in-process CRM (an httpx mock transport) that keeps
IndividualEmailResults unique by tracking key, as the CRM does. The first create of each batch
is committed but its answer is lost; afterwards every result is written exactly once, each
link names the CRM's own record, and nothing is posted twice by the client's retries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tandem.engagement.accounts.models import Account
from tandem.engagement.connect.client import HttpCrmClient
from tandem.engagement.connect.models import CrmConnection, EmailResultLink
from tandem.engagement.connect.tokens import tokens_forget
from tandem.engagement.connect.writeback import IER, TRACKING_KEY, send_results_write
from tandem.engagement.studio.models import Email
from tests.engagement.connect.test_writeback import completed_send

TOKEN = {
    "access_token": "00D!x",
    "instance_url": "https://acme.my.crm.test",
    "id": "https://crm.test/id/00D/005",
}


@dataclass
class LossyCrm:
    """IERs by tracking key; `lose` answers of composite creates are dropped after commit."""

    lose: int = 1
    results: dict[str, str] = field(default_factory=dict)
    posts: int = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = urlsplit(str(request.url)).path
        if path.endswith("/oauth2/token"):
            return httpx.Response(200, json=TOKEN)
        if path.endswith("/composite/sobjects/"):
            return self._create(request)
        if path.endswith("/query/"):
            return self._query(request)
        return httpx.Response(404, json=[{"errorCode": "NOT_FOUND", "message": path}])

    def _create(self, request: httpx.Request) -> httpx.Response:
        self.posts += 1
        answers = []
        for record in json.loads(request.content)["records"]:
            key = record[TRACKING_KEY]
            if key in self.results:
                answers.append(
                    {
                        "id": None,
                        "success": False,
                        "errors": [{"statusCode": "DUPLICATE_VALUE", "message": "duplicate"}],
                    }
                )
                continue
            self.results[key] = f"a0E{len(self.results):015d}"
            answers.append({"id": self.results[key], "success": True, "errors": []})
        if self.lose:
            self.lose -= 1
            raise httpx.ReadTimeout("the proxy dropped the answer", request=request)
        return httpx.Response(200, json=answers)

    def _query(self, request: httpx.Request) -> httpx.Response:
        soql = parse_qs(urlsplit(str(request.url)).query)["q"][0]
        assert soql.startswith(f"SELECT Id, {TRACKING_KEY} FROM {IER} WHERE {TRACKING_KEY} IN (")
        wanted = {part.strip(" '") for part in soql.split(" IN (", 1)[1].rstrip(")").split(",")}
        rows = [{"Id": v, TRACKING_KEY: k} for k, v in self.results.items() if k in wanted]
        return httpx.Response(200, json={"totalSize": len(rows), "done": True, "records": rows})


@pytest.fixture
def lossy(settings: Any, legacy: CrmConnection, monkeypatch: pytest.MonkeyPatch) -> LossyCrm:
    crm = LossyCrm()
    client = HttpCrmClient(
        consumer_key="3MVG9key", private_key="x", transport=httpx.MockTransport(crm.handle)
    )
    settings.CONNECT_CRM_CLIENT = lambda: client
    monkeypatch.setattr("time.sleep", lambda seconds: None)  # the client's backoff
    tokens_forget(legacy.account_id)
    return crm


def test_results_whose_answers_were_lost_are_written_exactly_once(
    account: Account, email: Email, lossy: LossyCrm
) -> None:
    send = completed_send(account, email, 250)  # two batches: 200 and 50

    first = send_results_write(send_id=send.pk)
    second = send_results_write(send_id=send.pk)
    third = send_results_write(send_id=send.pk)

    links = dict(
        EmailResultLink.objects.filter(record__send=send).values_list("tracking_key", "crm_id")
    )
    assert first is None  # the lost answer: nothing claimed as written, nothing lost
    assert second == 250
    assert third == 0
    assert len(lossy.results) == 250
    assert links == lossy.results  # each link names the CRM's own record
    assert lossy.posts == 3  # the lost post (not retried), then 200 + 50


def test_results_are_settled_even_when_every_answer_is_lost_once(
    account: Account, email: Email, lossy: LossyCrm
) -> None:
    lossy.lose = 2
    send = completed_send(account, email, 250)

    for _ in range(4):
        send_results_write(send_id=send.pk)

    links = dict(
        EmailResultLink.objects.filter(record__send=send).values_list("tracking_key", "crm_id")
    )
    assert links == lossy.results
    assert len(links) == 250
