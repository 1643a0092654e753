"""Run inside a stack's environment (TANDEM_SERVICE set by the caller) for the fault tests.

python -m tests.e2e.faults_tools crm-people N PREFIX...   CRM users holding Connect's set
python -m tests.e2e.faults_tools crm-audience TAG N       N contacts, a report and a campaign
python -m tests.e2e.faults_tools crm-results JOB          the send's IndividualEmailResults
python -m tests.e2e.faults_tools eng-mappings PREFIX N    N users Connect knew under legacy
python -m tests.e2e.faults_tools eng-migration PREFIX     their mappings, runs and files
python -m tests.e2e.faults_tools eng-retire-sweep         no periodic retry of waiting users
python -m tests.e2e.faults_tools eng-send KIND REF        a send to a CRM report or campaign
python -m tests.e2e.faults_tools eng-send-state SEND      the send, its audience and results

Seeding is bulk (a fixture, not the code under test); everything read back is what the
services stored.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from typing import Any

PERMISSION_SET = "Marketing_Cloud_Connected_App"  # made by upgrade_flow.configure_crm_side


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def crm_people(count: str, *prefixes: str) -> dict[str, Any]:
    """`count` users of the demo org per prefix, each holding the permission set linked to the
    Salesforce Marketing Cloud app."""
    from tandem.crm.permissions.models import PermissionSet, PermissionSetAssignment
    from tandem.crm.users.models import Profile, User

    system = User.objects.get(username="mc-system@acme.demo")
    profile = Profile.objects.get(org_id=system.org_id, name="Standard User")
    people = []
    for prefix in prefixes:
        for i in range(int(count)):
            username = f"{prefix}{i:04d}@acme.demo"
            user = User(
                org_id=system.org_id,
                profile=profile,
                username=username,
                email=username,
                last_name=f"{prefix} {i}",
            )
            user.set_unusable_password()
            people.append(user)
    created = User.objects.bulk_create(people, batch_size=1000)
    held = PermissionSet.objects.get(org_id=system.org_id, api_name=PERMISSION_SET)
    PermissionSetAssignment.objects.bulk_create(
        [PermissionSetAssignment(permission_set=held, user=user) for user in created],
        batch_size=1000,
    )
    return {"users": len(created)}


def crm_audience(tag: str, count: str) -> dict[str, Any]:
    """`count` contacts with addresses @TAG.test, a report of exactly them and a campaign of
    which they are all members."""
    from tandem.crm.records.models import Campaign, CampaignMember, Contact, Report
    from tandem.crm.users.models import User

    owner = User.objects.get(username="admin@acme.demo")
    stamp = {"org_id": owner.org_id, "owner": owner}
    contacts = Contact.objects.bulk_create(
        [
            Contact(
                **stamp,
                first_name=f"F{i}",
                last_name=tag,
                name=f"F{i} {tag}",
                email=f"{tag}{i:04d}@{tag}.test",
            )
            for i in range(int(count))
        ],
        batch_size=1000,
    )
    report = Report.objects.create(
        **stamp,
        name=f"{tag} readers",
        developer_name=f"{tag}_readers",
        report_type="Contact",
        columns=["Id", "FirstName", "LastName", "Email"],
        filters=[{"column": "Email", "operator": "contains", "value": f"@{tag}.test"}],
        sort_column="Email",
    )
    campaign = Campaign.objects.create(**stamp, name=f"{tag} campaign", status="In Progress")
    CampaignMember.objects.bulk_create(
        [CampaignMember(**stamp, campaign=campaign, contact=c) for c in contacts], batch_size=1000
    )
    return {
        "report": report.pk,
        "campaign": campaign.pk,
        "members": {c.email: c.pk for c in contacts},
    }


def crm_results(job: str) -> dict[str, Any]:
    """The send's IndividualEmailResults: how many per tracking key, and their people."""
    from tandem.crm.records.models import IndividualEmailResult

    rows = IndividualEmailResult.objects.filter(job_id=job)
    keys = Counter(rows.values_list("tracking_key", flat=True))
    return {
        "rows": rows.count(),
        "per_key": sorted(set(keys.values())),
        "emails": sorted(rows.values_list("email", flat=True)),
    }


def eng_mappings(prefix: str, count: str) -> dict[str, Any]:
    """`count` Engagement users of the account, each mapped under legacy authentication to the
    CRM user `crm-people` made with the same prefix (waiting for auto-connection)."""
    from tandem.engagement.accounts.models import Account, Role, User
    from tandem.engagement.connect.models import ConnectedUser, UserConnectionState

    account = Account.objects.get(name="Acme Marketing")
    users = User.objects.bulk_create(
        [
            User(
                username=f"{prefix}{i:04d}", account=account, role=Role.MARKETING_USER, password="!"
            )
            for i in range(int(count))
        ],
        batch_size=1000,
    )
    ConnectedUser.objects.bulk_create(
        [
            ConnectedUser(
                account=account,
                user=user,
                crm_username=f"{user.username}@acme.demo",
                state=UserConnectionState.LEGACY,
                was_legacy=True,
            )
            for user in User.objects.filter(
                account=account, username__in=[u.username for u in users]
            )
        ],
        batch_size=1000,
    )
    return {"mappings": ConnectedUser.objects.filter(crm_username__startswith=prefix).count()}


def eng_migration(prefix: str) -> dict[str, Any]:
    """The prefix's mappings (state, error), how many mappings each CRM user has, and every
    migration run that tried one of them, with the rows and files of that run."""
    from tandem.engagement.connect.models import ConnectedUser, CrmConnection, MigrationRun
    from tandem.engagement.content.models import ContentFile
    from tandem.engagement.content.storage import content_storage

    mappings = ConnectedUser.objects.filter(crm_username__startswith=prefix)
    runs = []
    for run in MigrationRun.objects.order_by("pk"):
        rows = [row for row in run.rows if row["crm_username"].startswith(prefix)]
        if not rows:
            continue
        files = {}
        for name in run.files:
            item = ContentFile.objects.get(name=name, folder__owner=run.actor)
            with content_storage().open(item.blob.name) as handle:
                files[name] = handle.read().decode("utf-8")
        runs.append(
            {
                "id": run.pk,
                "state": run.state,
                "rows": rows,
                "files": files,
                "succeeded": run.succeeded,
                "failed": run.failed,
            }
        )
    connection = CrmConnection.objects.get()
    return {
        "states": {
            m.crm_username: [m.state, m.last_error_code, m.last_error_message] for m in mappings
        },
        "per_user": sorted(set(Counter(mappings.values_list("crm_username", flat=True)).values())),
        "runs": runs,
        "claimed": connection.migration_claimed_at is not None,
    }


def eng_retire_sweep() -> dict[str, Any]:
    """Retire the worker's periodic retry of waiting users (its next run does nothing and
    plans no other), so that only the migration runs under test reconnect anyone."""
    from tandem.engagement.connect.periodic import chain_begin
    from tandem.engagement.connect.tasks import SWEEP

    return {"chain": chain_begin(SWEEP)}


def eng_send(kind: str, ref: str) -> dict[str, Any]:
    """A send of the Welcome email to a CRM report or campaign, started now."""
    from tandem.engagement.accounts.models import User
    from tandem.engagement.sends.models import AudienceKind
    from tandem.engagement.sends.services import send_create, send_schedule
    from tandem.engagement.studio.models import Email

    admin = User.objects.get(username="eadmin")
    assert admin.account is not None
    send = send_create(
        actor=admin,
        account=admin.account,
        name=f"To the {kind} {ref}",
        email=Email.objects.get(name="Welcome", account=admin.account),
        audience_kind=AudienceKind.REPORT if kind == "report" else AudienceKind.CAMPAIGN,
        audience_ref=ref,
    )
    send_schedule(actor=admin, send=send)
    return {"send": send.pk}


def eng_send_state(send_id: str) -> dict[str, Any]:
    """The send, its CRM audience, its records and the links to the results written back."""
    from tandem.engagement.connect.models import CrmAudience, EmailResultLink
    from tandem.engagement.sends.models import Send

    send = Send.objects.get(pk=int(send_id))
    audience = CrmAudience.objects.filter(send=send).first()
    links = EmailResultLink.objects.filter(record__send=send)
    return {
        "status": send.status,
        "reason": send.failure_reason,
        "audience": audience.state if audience else None,
        "audience_reason": audience.failure_reason if audience else None,
        "audience_rows": audience.rows if audience else None,
        "records": dict(Counter(send.records.values_list("status", flat=True))),
        "emails": sorted(send.records.values_list("email", flat=True)),
        "links": links.count(),
        "linked_records": links.values("record").distinct().count(),
        "results_written": bool(audience and audience.results_written_at),
    }


COMMANDS: dict[str, Any] = {
    "crm-people": crm_people,
    "crm-audience": crm_audience,
    "crm-results": crm_results,
    "eng-mappings": eng_mappings,
    "eng-migration": eng_migration,
    "eng-retire-sweep": eng_retire_sweep,
    "eng-send": eng_send,
    "eng-send-state": eng_send_state,
}

if __name__ == "__main__":
    _django()
    print(json.dumps(COMMANDS[sys.argv[1]](*sys.argv[2:]), default=str))
