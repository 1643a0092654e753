"""Run inside a stack's environment (TANDEM_SERVICE set by the caller) for the CRM-audience test.

python -m tests.e2e.test_crm_audience_tools crm-campaign
python -m tests.e2e.test_crm_audience_tools eng-send <campaign id>
python -m tests.e2e.test_crm_audience_tools eng-send-state <send id>
python -m tests.e2e.test_crm_audience_tools rest-ier <crm url> <username> <password> <job id>
python -m tests.e2e.test_crm_audience_tools crm-bulk-jobs
python -m tests.e2e.test_crm_audience_tools eng-usage
python -m tests.e2e.test_crm_audience_tools eng-open-all <send id>

(No tests here: the file is named so that it belongs to the CRM-audience test.)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

PEOPLE = (
    ("Contact", "Ada", "ada@campaign.test"),
    ("Contact", "Ben", "ben@campaign.test"),
    ("Contact", "Cy", "cy@campaign.test"),
    ("Lead", "Lea", "lea@campaign.test"),
)


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def crm_campaign() -> dict[str, Any]:
    """A campaign of the demo org with 3 contacts and 1 lead as members."""
    from tandem.crm.orgs.models import Org
    from tandem.crm.records.describe import REGISTRY
    from tandem.crm.records.services import record_create
    from tandem.crm.users.models import User

    owner = User.objects.get(username="mc-system@acme.demo")
    org = Org.objects.get(pk=owner.org_id)

    def create(sobject: str, **values: Any) -> str:
        described = REGISTRY.get(sobject)
        assert described is not None
        return str(record_create(org=org, owner=owner, sobject=described, values=values).pk)

    campaign = create("Campaign", Name="Spring launch")
    members = {}
    for kind, first, email in PEOPLE:
        extra = {"Company": "Acme"} if kind == "Lead" else {}
        person = create(kind, FirstName=first, LastName="Tester", Email=email, **extra)
        create("CampaignMember", CampaignId=campaign, **{f"{kind}Id": person})
        members[email] = person
    return {"campaign": campaign, "members": members}


def eng_send(campaign: str) -> dict[str, Any]:
    """A send of the Welcome email to the CRM campaign, started now."""
    from tandem.engagement.accounts.models import User
    from tandem.engagement.sends.models import AudienceKind
    from tandem.engagement.sends.services import send_create, send_schedule
    from tandem.engagement.studio.models import Email

    admin = User.objects.get(username="eadmin")
    assert admin.account is not None
    email = Email.objects.get(name="Welcome", account=admin.account)
    send = send_create(
        actor=admin,
        account=admin.account,
        name="To the spring campaign",
        email=email,
        audience_kind=AudienceKind.CAMPAIGN,
        audience_ref=campaign,
    )
    send_schedule(actor=admin, send=send)
    return {"send": send.pk}


def eng_send_state(send_id: str) -> dict[str, Any]:
    """The send, its records and its CRM audience."""
    from tandem.engagement.connect.models import CrmAudience
    from tandem.engagement.sends.models import Send

    send = Send.objects.get(pk=int(send_id))
    audience = CrmAudience.objects.filter(send=send).first()
    return {
        "status": send.status,
        "reason": send.failure_reason,
        "records": sorted(send.records.values_list("subscriber_key", "email", "status")),
        "audience": audience.state if audience else None,
        "results_written": bool(audience and audience.results_written_at),
        "email_field_type": (
            audience.data_extension.fields.get(name=audience.data_extension.email_field).field_type
            if audience and audience.data_extension
            else None
        ),
    }


def rest_ier(crm_url: str, username: str, password: str, job_id: str) -> dict[str, Any]:
    """The send's IndividualEmailResults, read through the CRM's REST API (password flow)."""
    from tandem.engagement.connect.client import HttpCrmClient

    # The consumer key `tandem up` made for the stack's "Salesforce Marketing Cloud" app.
    key_file = Path(os.environ["TANDEM_VAR_DIR"]) / "connect" / "consumer_key"
    client = HttpCrmClient(consumer_key=key_file.read_text(encoding="ascii").strip())
    token = client.password_login(token_url=crm_url, username=username, password=password)
    soql = (
        "SELECT Id, et4ae5__Email__c, et4ae5__Contact__c, et4ae5__Lead__c, "
        "et4ae5__TrackingKey__c, et4ae5__Opened__c, et4ae5__DateOpened__c, "
        "et4ae5__DateClicked__c FROM et4ae5__IndividualEmailResult__c "
        f"WHERE et4ae5__JobId__c = '{int(job_id)}'"
    )
    return {"records": client.query(token=token, soql=soql).data.get("records", [])}


def crm_bulk_jobs() -> dict[str, Any]:
    """The Bulk jobs of the demo org: who ran them, on what, and how they ended."""
    from tandem.crm.bulk.models import BulkJob, BulkRowResult
    from tandem.crm.users.models import User

    owner = User.objects.get(username="mc-system@acme.demo")
    jobs = BulkJob.objects.filter(org_id=owner.org_id).select_related("created_by")
    return {
        "jobs": [
            {
                "type": job.job_type,
                "operation": job.operation,
                "object": job.object,
                "external_id": job.external_id_field_name,
                "state": job.state,
                "by": job.created_by.username if job.created_by else None,
                "processed": job.records_processed,
                "failed": job.records_failed,
                "error": job.error_message,
                "row_errors": list(
                    BulkRowResult.objects.filter(job=job, success=False).values_list(
                        "error", flat=True
                    )
                ),
            }
            for job in jobs
        ]
    }


def eng_usage() -> dict[str, Any]:
    """Connect's recorded calls to the CRM per API family and whether they count."""
    from tandem.engagement.connect.models import ApiCallDay

    calls: dict[str, int] = {}
    for row in ApiCallDay.objects.all():
        key = f"{row.api_family}:{'counted' if row.counts_against_limit else 'exempt'}"
        calls[key] = calls.get(key, 0) + row.calls
    return {"calls": calls}


def eng_open_all(send_id: str) -> dict[str, Any]:
    """Every recipient of the send opens it; the tracking write-back runs now (not hourly),
    with the consumer key `tandem up` gave the stack's services."""
    from django.conf import settings
    from django.utils import timezone

    from tandem.engagement.connect.writeback import tracking_write
    from tandem.engagement.sends.models import Send

    key_file = Path(os.environ["TANDEM_VAR_DIR"]) / "connect" / "consumer_key"
    settings.MC_CONSUMER_KEY = key_file.read_text(encoding="ascii").strip()
    send = Send.objects.get(pk=int(send_id))
    send.records.update(first_opened_at=timezone.now(), open_count=1)
    return {"updated": tracking_write(account_id=send.account_id)}


if __name__ == "__main__":
    _django()
    commands = {
        "crm-campaign": crm_campaign,
        "eng-send": eng_send,
        "eng-send-state": eng_send_state,
        "rest-ier": rest_ier,
        "crm-bulk-jobs": crm_bulk_jobs,
        "eng-usage": eng_usage,
        "eng-open-all": eng_open_all,
    }
    print(json.dumps(commands[sys.argv[1]](*sys.argv[2:]), default=str))
