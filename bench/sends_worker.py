"""The parts of bench/sends that run inside the Engagement's environment (one process each).

python -m bench.sends_worker seed ROWS
python -m bench.sends_worker begin          -> prints {"send_id", "records", "message_bytes"}
python -m bench.sends_worker deliver SEND_ID
python -m bench.sends_worker summary SEND_ID
python -m bench.sends_worker profile SEND_ID OUT
python -m bench.sends_worker serve          -> prints "ready" once Django is set up, then runs
                                               the one command read from stdin ("begin" or
                                               "deliver SEND_ID") and prints its JSON with the
                                               CPU seconds the command used ("cpu"), of
                                               which in the kernel ("cpu_system")
"""

from __future__ import annotations

import json
import os
import sys
import time


def _django() -> None:
    os.environ["TANDEM_SERVICE"] = "engagement"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


# About 5 KB once rendered, as docs/reference/sending.md assumes.
HTML = (
    "<html><body><h1>Spring offers for %%FirstName%%</h1>"
    + "<p>Dear %%FirstName%% %%LastName%%, here is what is new this season in %%City%%.</p>" * 30
    + '<p><a href="https://shop.example/offers?c=%%City%%">See the offers</a></p>'
    + "</body></html>"
)
TEXT = "Dear %%FirstName%% %%LastName%%,\n" + "Here is what is new this season in %%City%%.\n" * 30


def seed(rows: int) -> None:
    from tandem.engagement.accounts.models import Account
    from tandem.engagement.data.models import DataExtension, DataExtensionField, DataExtensionRow
    from tandem.engagement.studio.models import Email

    account = Account.objects.create(name="Bench")
    Email.objects.create(
        account=account,
        name="Spring",
        subject="Spring offers, %%FirstName%%",
        from_name="Bench Shop",
        from_address="news@shop.example",
        html_body=HTML,
        text_body=TEXT,
    )
    audience = DataExtension.objects.create(
        account=account,
        name="Customers",
        is_sendable=True,
        subscriber_key_field="Id",
        email_field="Email",
    )
    for ordinal, name in enumerate(("Id", "Email", "FirstName", "LastName", "City")):
        DataExtensionField.objects.create(data_extension=audience, name=name, ordinal=ordinal)
    DataExtensionRow.objects.bulk_create(
        (
            DataExtensionRow(
                data_extension=audience,
                key=str(i),
                values={
                    "Id": str(i),
                    "Email": f"customer{i}@mail{i % 97}.example",
                    "FirstName": f"First{i}",
                    "LastName": f"Last{i}",
                    "City": "Zürich",
                },
            )
            for i in range(rows)
        ),
        batch_size=5000,
    )


def begin() -> None:
    """Create the send, snapshot its audience; print its id and one message's size."""
    from tandem.engagement.accounts.models import Account
    from tandem.engagement.data.models import DataExtension
    from tandem.engagement.sends import queue
    from tandem.engagement.sends.message import (
        END_OF_DATA,
        Recipient,
        build_wire,
        date_header,
        prepare_email,
    )
    from tandem.engagement.sends.models import Send
    from tandem.engagement.sends.services import send_begin, send_create, send_schedule
    from tandem.engagement.studio.models import Email

    queue.enqueue_begin = lambda *a, **k: None  # type: ignore[assignment]  # the bench drives it
    queue.enqueue_deliveries = lambda *a, **k: None  # type: ignore[assignment]
    account = Account.objects.get(name="Bench")
    send = send_create(
        actor=None,
        account=account,
        name="Bench",
        email=Email.objects.get(account=account),
        data_extension=DataExtension.objects.get(account=account),
    )
    send_schedule(actor=None, send=send)
    send_begin(send_id=send.id)
    send = Send.objects.select_related("email").get(pk=send.id)
    record = send.records.first()
    assert record is not None
    prepared = prepare_email(send_id=send.id, email=send.email, is_test=False)
    recipient = Recipient(record.id, record.subscriber_key, record.email, record.values)
    # The message as DATA carries it, without the final dot line (what smtp-source -l counts).
    size = len(build_wire(prepared, recipient, date_header())) - len(END_OF_DATA)
    print(json.dumps({"send_id": send.id, "records": send.records.count(), "message_bytes": size}))


def deliver(send_id: int) -> None:
    from tandem.engagement.sends.pipeline import send_deliver

    report = send_deliver(send_id=send_id)
    print(
        json.dumps(
            {"batches": report.batches, "messages": report.messages, "finish": report.finish.value}
        )
    )


def summary(send_id: int) -> None:
    from dataclasses import asdict

    from tandem.engagement.sends.models import Send
    from tandem.engagement.sends.selectors import send_progress

    send = Send.objects.get(pk=send_id)
    print(json.dumps({"status": send.status, **asdict(send_progress(send=send))}))


def serve() -> None:
    """Wait, set up, for one command: a running worker's start-up is not part of a send."""
    import contextlib
    import io
    import resource

    print("ready", flush=True)
    command, *args = sys.stdin.readline().split()
    before = resource.getrusage(resource.RUSAGE_SELF)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        if command == "begin":
            begin()
        else:
            deliver(int(args[0]))
    after = resource.getrusage(resource.RUSAGE_SELF)
    system = after.ru_stime - before.ru_stime
    cpu = (after.ru_utime - before.ru_utime) + system
    print(
        json.dumps({**json.loads(output.getvalue()), "cpu": cpu, "cpu_system": system}),
        flush=True,
    )


def profile(send_id: int, out: str) -> None:
    import cProfile
    import pstats

    from tandem.engagement.sends.pipeline import send_deliver

    # CPU time, not wall time: on a shared machine waiting for a core is not our cost.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    send_deliver(send_id=send_id)
    profiler.disable()
    with open(out, "w") as handle:
        pstats.Stats(profiler, stream=handle).sort_stats(
            os.environ.get("PROFILE_SORT", "tottime")
        ).print_stats(int(os.environ.get("PROFILE_LINES", "25")))


def main(argv: list[str]) -> None:
    _django()
    command = argv[0]
    if command == "seed":
        seed(int(argv[1]))
    elif command == "begin":
        begin()
    elif command == "deliver":
        deliver(int(argv[1]))
    elif command == "summary":
        summary(int(argv[1]))
    elif command == "serve":
        serve()
    elif command == "profile":
        profile(int(argv[1]), argv[2])


if __name__ == "__main__":
    main(sys.argv[1:])
