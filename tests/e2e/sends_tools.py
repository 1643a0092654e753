"""Run inside a stack's environment: seed an audience, or dump a send's records as JSON.

python -m tests.e2e.sends_tools seed --rows 20000 --name Audience
python -m tests.e2e.sends_tools records SEND_ID
python -m tests.e2e.sends_tools enqueue SEND_ID   (a repeated begin task and extra loops)
"""

from __future__ import annotations

import json
import os
import sys


def _django() -> None:
    os.environ["TANDEM_SERVICE"] = "engagement"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def seed(rows: int, name: str) -> None:
    """An account "E2E", an email "Welcome" and a sendable data extension `name` of `rows`."""
    from tandem.engagement.accounts.models import Account
    from tandem.engagement.data.models import DataExtension, DataExtensionField, DataExtensionRow
    from tandem.engagement.studio.models import Email

    account, _ = Account.objects.get_or_create(name="E2E")
    Email.objects.get_or_create(
        account=account,
        name="Welcome",
        defaults={
            "subject": "Welcome, %%FirstName%%",
            "from_name": "E2E News",
            "from_address": "news@e2e.test",
            "html_body": '<p>Hi %%FirstName%%</p><a href="https://e2e.test/x">x</a>'
            + "<p>.</p>" * 300,
            "text_body": "Hi %%FirstName%%\n" + "Lorem ipsum dolor sit amet. " * 100,
        },
    )
    audience = DataExtension.objects.create(
        account=account,
        name=name,
        is_sendable=True,
        subscriber_key_field="SubscriberKey",
        email_field="EmailAddress",
    )
    for ordinal, field in enumerate(("SubscriberKey", "EmailAddress", "FirstName")):
        DataExtensionField.objects.create(data_extension=audience, name=field, ordinal=ordinal)
    DataExtensionRow.objects.bulk_create(
        (
            DataExtensionRow(
                data_extension=audience,
                key=f"{name}-{i}",
                values={
                    "SubscriberKey": f"{name}-{i}",
                    "EmailAddress": f"r{i}@{name.lower()}.test",
                    "FirstName": f"N{i}",
                },
            )
            for i in range(rows)
        ),
        batch_size=5000,
    )


def records(send_id: int) -> None:
    """Print {record id: status} and the batches' workers of one send."""
    from tandem.engagement.sends.models import SendBatch, SendRecord

    statuses = dict(SendRecord.objects.filter(send_id=send_id).values_list("id", "status"))
    batches = SendBatch.objects.filter(send_id=send_id)
    lost = list(batches.filter(is_lost=True).values_list("size", flat=True))
    # host:pid of the process that claimed each batch (the name ends with a per-loop suffix)
    workers = sorted(
        {worker.rsplit(":", 1)[0] for worker in batches.values_list("worker", flat=True)}
    )
    sizes = sorted(set(batches.values_list("size", flat=True)))
    print(
        json.dumps(
            {
                "records": statuses,
                "lost_batch_sizes": lost,
                "batch_workers": workers,
                "batch_sizes": sizes,
            }
        )
    )


def enqueue(send_id: int) -> None:
    """What a duplicated task or a second starter would do: begin again, start more loops."""
    from tandem.engagement.sends import queue

    queue.enqueue_begin(send_id)
    queue.enqueue_deliveries(send_id)
    queue.enqueue_deliveries(send_id)


def main(argv: list[str]) -> None:
    _django()
    if argv[0] == "seed":
        seed(int(argv[argv.index("--rows") + 1]), argv[argv.index("--name") + 1])
    elif argv[0] == "records":
        records(int(argv[1]))
    elif argv[0] == "enqueue":
        enqueue(int(argv[1]))


if __name__ == "__main__":
    main(sys.argv[1:])
