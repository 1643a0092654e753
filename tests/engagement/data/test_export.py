"""CSV export, and the round trip export -> import."""

from __future__ import annotations

import pytest
from django.test import Client

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension
from tandem.engagement.data.services import Sendable, data_extension_create
from tests.engagement.data.conftest import FIELDS, run_import, snapshot

pytestmark = pytest.mark.django_db

TRICKY = (
    "SubscriberKey,Email,FirstName,Age,Joined,Vip,Phone\r\n"
    'k1,ann@example.com,"Smith, ""Ann""",31,2024-02-29,true,+1 555 0100\r\n'
    'k2,zoe@example.com,"Zoë\r\n東京",,,,\r\n'
    "k3,bob@example.com,=SUM(A1),0.5,1/2/2024,no,\r\n"
)


def export_text(client: Client, data_extension: DataExtension) -> str:
    response = client.get(f"/email/subscribers/{data_extension.pk}/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content).decode("utf-8")


def test_export_has_a_header_row_in_field_order(
    admin: User, admin_client: Client, subscribers: DataExtension
) -> None:
    text = export_text(admin_client, subscribers)

    assert text == "\ufeffSubscriberKey,Email,FirstName,Age,Joined,Vip,Phone\r\n"


def test_export_then_import_gives_back_the_same_rows(
    admin: User, admin_client: Client, subscribers: DataExtension
) -> None:
    run_import(admin, subscribers, TRICKY)
    copy = data_extension_create(actor=admin, name="Copy", fields=FIELDS, sendable=Sendable(False))

    run_import(admin, copy, export_text(admin_client, subscribers).encode())

    assert snapshot(copy) == snapshot(subscribers)
    assert snapshot(copy)["k2"]["FirstName"] == "Zoë\r\n東京"
    assert len(snapshot(copy)) == 3


def test_export_of_another_accounts_data_extension_is_404(
    outsider_client: Client, subscribers: DataExtension
) -> None:
    response = outsider_client.get(f"/email/subscribers/{subscribers.pk}/export.csv")

    assert response.status_code == 404
