"""Prepare an org in a running stack for API tests: admin, connected app, demo records.

Run with `tandem crm shell -c` in the stack's environment; prints JSON on its last line.
"""

SETUP = r"""
import json
from tandem.core.ids import new_id
from tandem.crm.connectedapps.models import ConnectedApp
from tandem.crm.connectedapps.services import connected_app_create
from tandem.crm.orgs.models import TrustedIpRange
from tandem.crm.orgs.services import org_create
from tandem.crm.records.seed import records_seed
from tandem.crm.users.models import Profile, ProfileName
from tandem.crm.users.services import user_create

org = org_create(name="Api E2E", my_domain="apie2e")
org.allow_username_password_flows = True
org.save()
TrustedIpRange.objects.create(org=org, start_address="127.0.0.1", end_address="127.0.0.1")
admin = user_create(
    org=org, actor=None, username="admin@apie2e.test", email="admin@apie2e.test",
    last_name="Admin", profile=Profile.objects.get(org=org, name=ProfileName.SYSTEM_ADMINISTRATOR),
    password="Api-e2e-password-1",
)
created = connected_app_create(
    org=org, actor=None, name="Integration", callback_urls=["https://client.example/cb"],
    scopes=["api", "refresh_token"],
)
ConnectedApp.objects.filter(pk=created.app.pk).update(
    authorization_grant_type=ConnectedApp.GRANT_PASSWORD
)
records_seed(org=org, owner=admin, contacts=CONTACTS, leads=20, campaigns=1, seed=5)
print(json.dumps({"key": created.app.client_id, "secret": created.consumer_secret,
                  "username": admin.username, "password": "Api-e2e-password-1"}))
"""
