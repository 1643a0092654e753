"""Run inside a stack's environment (TANDEM_SERVICE set by the caller) to seed or inspect.

python -m tests.e2e.upgrade_tools crm-seed | crm-ier
python -m tests.e2e.upgrade_tools eng-seed | eng-sends | eng-state [OWNER] | eng-audit
python -m tests.e2e.upgrade_tools crm-app-state
python -m tests.e2e.upgrade_tools eng-user USERNAME | eng-call-as CRM_USERNAME
python -m tests.e2e.upgrade_tools crm-logins CRM_USERNAME
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import Any

ENG_PASSWORD = "Engagement-e2e-2026!"


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def crm_seed() -> dict[str, Any]:
    """The demo org; fresh security tokens for the users Connect logs in as (legacy)."""
    from tandem.crm.setup.demo import demo_seed
    from tandem.crm.users.models import User
    from tandem.crm.users.services import security_token_reset

    demo = demo_seed()
    tokens = {}
    for username in ("mc-system@acme.demo", "maria@acme.demo", "mark@acme.demo"):
        tokens[username] = security_token_reset(user=User.objects.get(username=username))
    return {**demo, "tokens": tokens}


def crm_ier() -> dict[str, Any]:
    from tandem.crm.records.models import IndividualEmailResult

    rows = IndividualEmailResult.objects.values("email", "job_id", "tracking_key")
    return {"results": list(rows)}


def eng_seed() -> dict[str, Any]:
    """An account, its admin, two marketing users, an email and a sendable data extension."""
    from tandem.engagement.accounts.models import Role
    from tandem.engagement.accounts.services import account_create, user_create
    from tandem.engagement.data.models import DataExtension, DataExtensionField, DataExtensionRow
    from tandem.engagement.studio.models import Email

    admin = account_create(
        name="Acme Marketing", admin_username="eadmin", admin_password=ENG_PASSWORD
    )
    for name in ("emaria", "emark"):
        user_create(actor=admin, username=name, password=ENG_PASSWORD, role=Role.MARKETING_USER)
    assert admin.account is not None
    email = Email.objects.create(
        account=admin.account,
        name="Welcome",
        subject="Hello %%FirstName%%",
        from_name="Acme",
        from_address="news@acme.test",
        html_body="<p>Hi %%FirstName%%</p>",
        text_body="Hi %%FirstName%%",
    )
    audience = DataExtension.objects.create(
        account=admin.account,
        name="Newsletter",
        is_sendable=True,
        subscriber_key_field="SubscriberKey",
        email_field="EmailAddress",
    )
    for ordinal, field in enumerate(("SubscriberKey", "EmailAddress", "FirstName")):
        DataExtensionField.objects.create(data_extension=audience, name=field, ordinal=ordinal)
    for i in range(3):
        DataExtensionRow.objects.create(
            data_extension=audience,
            key=f"k{i}",
            values={
                "SubscriberKey": f"k{i}",
                "EmailAddress": f"r{i}@newsletter.test",
                "FirstName": f"N{i}",
            },
        )
    return {
        "account_id": admin.account_id,
        "email_id": email.pk,
        "de_id": audience.pk,
        "password": ENG_PASSWORD,
    }


def eng_sends() -> dict[str, Any]:
    """A send to a CRM report and one to the data extension, both started now."""
    from tandem.engagement.accounts.models import User
    from tandem.engagement.data.models import DataExtension
    from tandem.engagement.sends.models import AudienceKind
    from tandem.engagement.sends.services import send_create, send_schedule
    from tandem.engagement.studio.models import Email

    admin = User.objects.get(username="eadmin")
    email = Email.objects.get(name="Welcome", account=admin.account)
    audience = DataExtension.objects.get(name="Newsletter", account=admin.account)
    assert admin.account is not None
    crm = send_create(
        actor=admin,
        account=admin.account,
        name="To the CRM report",
        email=email,
        audience_kind=AudienceKind.REPORT,
        audience_ref="00O000000000001AAA",
    )
    de = send_create(
        actor=admin,
        account=admin.account,
        name="To the newsletter DE",
        email=email,
        data_extension=audience,
    )
    send_schedule(actor=admin, send=crm)
    send_schedule(actor=admin, send=de)
    return {"crm_send": crm.pk, "de_send": de.pk}


def eng_state(owner: str = "eadmin") -> dict[str, Any]:
    """Sends, the connection, the mappings and `owner`'s My Documents files (with contents)."""
    from tandem.engagement.connect.models import ConnectedUser, CrmConnection
    from tandem.engagement.content.models import ContentFile
    from tandem.engagement.content.storage import content_storage
    from tandem.engagement.sends.models import Send

    files = {}
    for item in ContentFile.objects.filter(folder__owner__username=owner):
        with content_storage().open(item.blob.name) as handle:
            files[item.name] = handle.read().decode("utf-8")
    connection = CrmConnection.objects.first()
    return {
        "sends": {
            s.pk: {"status": s.status, "reason": s.failure_reason, "test": s.is_test}
            for s in Send.objects.all()
        },
        "state": connection.state if connection else None,
        "legacy_secret_held": bool(connection and connection.legacy_secret),
        "users": {
            m.crm_username: {
                "state": m.state,
                "code": m.last_error_code,
                "message": m.last_error_message,
            }
            for m in ConnectedUser.objects.all()
        },
        "files": files,
    }


def eng_user(username: str) -> dict[str, Any]:
    """Another marketing user of the account, never connected to the CRM."""
    from tandem.engagement.accounts.models import Role, User
    from tandem.engagement.accounts.services import user_create

    admin = User.objects.get(username="eadmin")
    user = user_create(
        actor=admin, username=username, password=ENG_PASSWORD, role=Role.MARKETING_USER
    )
    return {"user_id": user.pk}


def eng_call_as(crm_username: str) -> dict[str, Any]:
    """One Connect REST call (the identity) as a mapped user, through the account's connection."""
    from tandem.engagement.connect import services
    from tandem.engagement.connect.client import CrmClient, CrmToken
    from tandem.engagement.connect.models import CrmConnection

    connection = CrmConnection.objects.get()

    def who(client: CrmClient, token: CrmToken) -> object:
        return client.identity(token=token)

    identity = services.crm_call(connection, who, username=crm_username)
    return {"identity": dataclasses.asdict(identity)}  # type: ignore[call-overload]


def crm_logins(username: str) -> dict[str, Any]:
    """The CRM's Login History of one user, oldest first."""
    from tandem.crm.users.models import LoginHistory

    rows = LoginHistory.objects.filter(username=username).order_by("login_time", "id")
    return {"logins": list(rows.values("login_type", "application", "status"))}


def crm_app_state() -> dict[str, Any]:
    """The demo org's view of the Salesforce Marketing Cloud app, its users and audit trail."""
    from tandem.crm.connectedapps.models import ConnectedAppConsent, ConnectedAppPolicy
    from tandem.crm.permissions.models import PermissionSet
    from tandem.crm.setup.models import SetupAuditTrail
    from tandem.crm.users.models import User

    policy = ConnectedAppPolicy.objects.filter(app__deployment_key="marketing_cloud").first()
    linked = policy.access.exclude(permission_set=None) if policy else []
    return {
        "policy": (
            [policy.permitted_users, policy.ip_relaxation, policy.refresh_token_policy]
            if policy
            else None
        ),
        "linked": sorted(row.permission_set.api_name for row in linked),
        "permission_sets": sorted(PermissionSet.objects.values_list("api_name", flat=True)),
        "consents": sorted(ConnectedAppConsent.objects.values_list("user__username", flat=True)),
        "active": dict(User.objects.values_list("username", "is_active")),
        "audit_rows": SetupAuditTrail.objects.count(),
    }


def eng_audit() -> dict[str, Any]:
    """How many audit rows the Engagement holds (a run that changes nothing adds none)."""
    from tandem.engagement.accounts.models import AuditEvent
    from tandem.engagement.connect.models import MigrationRun

    return {"rows": AuditEvent.objects.count(), "runs": MigrationRun.objects.count()}


COMMANDS: dict[str, Any] = {
    "crm-app-state": crm_app_state,
    "eng-audit": eng_audit,
    "crm-seed": crm_seed,
    "crm-ier": crm_ier,
    "eng-seed": eng_seed,
    "eng-sends": eng_sends,
    "eng-state": eng_state,
    "eng-user": eng_user,
    "eng-call-as": eng_call_as,
    "crm-logins": crm_logins,
}

if __name__ == "__main__":
    _django()
    print(json.dumps(COMMANDS[sys.argv[1]](*sys.argv[2:]), default=str))
