"""Run inside a stack's environment (TANDEM_SERVICE set by the caller) for tests/e2e/test_sync.py.

python -m tests.e2e.sync_tools crm-contacts <n> <email domain>
python -m tests.e2e.sync_tools crm-leads <n>
python -m tests.e2e.sync_tools crm-change <changed> <deleted> <added> <tag>
python -m tests.e2e.sync_tools crm-touch-all <tag>
python -m tests.e2e.sync_tools crm-email <domain> <n>
python -m tests.e2e.sync_tools crm-table Contact|Lead
python -m tests.e2e.sync_tools eng-table <data extension>
python -m tests.e2e.sync_tools eng-source <object>
python -m tests.e2e.sync_tools eng-queue-run <object>
python -m tests.e2e.sync_tools eng-outage-end
python -m tests.e2e.sync_tools eng-send-state <send id>
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

SYSTEM = "mc-system@acme.demo"


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _crm() -> tuple[Any, Any]:
    from tandem.crm.orgs.models import Org
    from tandem.crm.users.models import User

    owner = User.objects.get(username=SYSTEM)
    return Org.objects.get(pk=owner.org_id), owner


def _described(sobject: str) -> Any:
    from tandem.crm.records.describe import REGISTRY

    found = REGISTRY.get(sobject)
    assert found is not None
    return found


def _create(sobject: str, rows: list[dict[str, Any]]) -> list[str]:
    from django.db import transaction

    from tandem.crm.records.services import record_create

    org, owner = _crm()
    described = _described(sobject)
    with transaction.atomic():
        return [
            str(record_create(org=org, owner=owner, sobject=described, values=values).pk)
            for values in rows
        ]


def crm_contacts(count: str, domain: str) -> dict[str, Any]:
    rows = [
        {"FirstName": f"P{n}", "LastName": "Sync", "Email": f"p{n}@{domain}"}
        for n in range(int(count))
    ]
    return {"created": len(_create("Contact", rows))}


AWKWARD = ["", 'say "hi", then\r\nbye', "Zoë 日本", "a,b", '"', "line\nbreak", " lead"]


def crm_awkward() -> dict[str, Any]:
    """Contacts whose names need quoting in CSV (quotes, commas, line breaks, unicode, empty)."""
    rows = [
        {
            "FirstName": value,
            "LastName": f"Odd {value}".strip() or "Odd",
            "Email": f"odd{n}@odd.test" if n % 3 else None,
        }
        for n, value in enumerate(AWKWARD)
    ]
    return {"created": _create("Contact", rows)}


def eng_recopy(object_name: str) -> dict[str, Any]:
    """Forget the source's copy: its next run is a first copy into an empty data extension."""
    from tandem.engagement.data.models import DataExtensionRow
    from tandem.engagement.syncs.models import SyncSource

    source = SyncSource.objects.get(object_name=object_name)
    DataExtensionRow.objects.filter(data_extension_id=source.data_extension_id).delete()
    SyncSource.objects.filter(pk=source.pk).update(high_water=None, copy_floor=None)
    return {"source": source.pk}


def crm_leads(count: str) -> dict[str, Any]:
    rows = [
        {"LastName": f"L{n}", "Company": "Acme", "Email": f"l{n}@lead.test"}
        for n in range(int(count))
    ]
    return {"created": len(_create("Lead", rows))}


def _contact_ids() -> list[str]:
    from tandem.crm.records.models import Contact

    org, _ = _crm()
    return list(
        Contact.objects.filter(org=org, is_deleted=False, last_name="Sync")
        .order_by("id")
        .values_list("id", flat=True)
    )


def crm_change(changed: str, deleted: str, added: str, tag: str) -> dict[str, Any]:
    """Change, delete and add contacts; the Ids of each."""
    from django.db import transaction

    from tandem.crm.records.services import record_delete, record_update

    org, _ = _crm()
    described = _described("Contact")
    ids = _contact_ids()
    to_change, to_delete = ids[: int(changed)], ids[int(changed) : int(changed) + int(deleted)]
    with transaction.atomic():
        for record_id in to_change:
            record_update(
                org=org,
                sobject=described,
                record_id=record_id,
                values={"FirstName": f"{tag}-changed"},
            )
        for record_id in to_delete:
            record_delete(org=org, sobject=described, record_id=record_id)
    rows = [
        {"FirstName": f"{tag}-new{n}", "LastName": "Sync", "Email": f"{tag}{n}@sync.test"}
        for n in range(int(added))
    ]
    return {"changed": to_change, "deleted": to_delete, "added": _create("Contact", rows)}


def crm_touch_all(tag: str) -> dict[str, Any]:
    from django.utils import timezone

    from tandem.crm.records.models import Contact

    org, _ = _crm()
    now = timezone.now()
    touched = Contact.objects.filter(org=org, is_deleted=False, last_name="Sync").update(
        first_name=tag, system_modstamp=now, last_modified_date=now
    )
    return {"touched": touched}


def crm_email(domain: str, count: str) -> dict[str, Any]:
    """Give the first `count` contacts an address at `domain`; their Ids."""
    from django.db import transaction

    from tandem.crm.records.services import record_update

    org, _ = _crm()
    described = _described("Contact")
    chosen = _contact_ids()[: int(count)]
    with transaction.atomic():
        for n, record_id in enumerate(chosen):
            record_update(
                org=org, sobject=described, record_id=record_id, values={"Email": f"f{n}@{domain}"}
            )
    return {"ids": chosen}


def crm_table(sobject: str) -> dict[str, Any]:
    from tandem.crm.records.models import Contact, Lead

    org, _ = _crm()
    if sobject == "Lead":
        leads = Lead.objects.filter(org=org, is_deleted=False)
        return {
            r[0]: {"Id": r[0], "Email": r[1] or "", "Company": r[2] or ""}
            for r in leads.values_list("id", "email", "company")
        }
    contacts = Contact.objects.filter(org=org, is_deleted=False)
    return {
        r[0]: {"Id": r[0], "Email": r[1] or "", "FirstName": r[2] or "", "LastName": r[3] or ""}
        for r in contacts.values_list("id", "email", "first_name", "last_name")
    }


def eng_table(name: str) -> dict[str, Any]:
    from tandem.engagement.data.models import DataExtensionRow

    rows = DataExtensionRow.objects.filter(data_extension__name=name)
    return dict(rows.values_list("key", "values"))


def eng_source(object_name: str) -> dict[str, Any]:
    from tandem.engagement.syncs.models import SyncSource
    from tandem.engagement.syncs.selectors import source_row

    source = SyncSource.objects.get(object_name=object_name)
    return {**source_row(source), "lease_until": str(source.lease_until)}


def eng_queue_run(object_name: str) -> dict[str, Any]:
    from tandem.engagement.syncs.models import SyncSource
    from tandem.engagement.syncs.tasks import source_run_task

    source = SyncSource.objects.get(object_name=object_name)
    return {"task": source_run_task.delay(source.pk).id}


def eng_outage_end() -> dict[str, Any]:
    from datetime import timedelta

    from django.utils import timezone

    from tandem.engagement.connect.models import Outage

    ended = Outage.objects.filter(ends_at__gt=timezone.now()).update(
        ends_at=timezone.now() - timedelta(seconds=1)
    )
    return {"ended": ended}


def eng_send_state(send_id: str) -> dict[str, Any]:
    from tandem.engagement.sends.models import Send

    send = Send.objects.get(pk=int(send_id))
    return {
        "status": send.status,
        "reason": send.failure_reason,
        "records": sorted(send.records.values_list("subscriber_key", "email", "status")),
    }


if __name__ == "__main__":
    _django()
    commands = {
        "crm-contacts": crm_contacts,
        "crm-awkward": crm_awkward,
        "eng-recopy": eng_recopy,
        "crm-leads": crm_leads,
        "crm-change": crm_change,
        "crm-touch-all": crm_touch_all,
        "crm-email": crm_email,
        "crm-table": crm_table,
        "eng-table": eng_table,
        "eng-source": eng_source,
        "eng-queue-run": eng_queue_run,
        "eng-outage-end": eng_outage_end,
        "eng-send-state": eng_send_state,
    }
    print(json.dumps(commands[sys.argv[1]](*sys.argv[2:]), default=str))
