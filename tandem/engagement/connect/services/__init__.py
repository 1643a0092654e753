"""Writes of Marketing Cloud Connect, by concern; this package is their public face.

- `seam`: the CRM client seam, the JWT bearer call, the org check every identity passes;
- `records`: the audit trail, Connect's calls per day and user, the CRM's allocation;
- `legacy`: the account and its users connected by password (legacy authentication);
- `access`: tokens for Connect's calls (cache, legacy login, JWT bearer) and `crm_call`;
- `pkce`: the web-server flow with PKCE;
- `state`: the upgrade's state machine and the rollback;
- `autoconnect`, `migration`: auto-connection within the 14-day window, Migrate Existing Users;
- `outages`: scheduled outages and the hold option.

Modules depend on each other in that order, never back; nothing here imports a view or a task.
"""

from tandem.engagement.connect.errors import ConnectError, ConnectStateError
from tandem.engagement.connect.services.access import connection_token, crm_call
from tandem.engagement.connect.services.autoconnect import (
    legacy_erase,
    migration_lease,
    migration_running,
    user_auto_connect,
    window_close,
    window_is_open,
)
from tandem.engagement.connect.services.legacy import (
    connected_user_map,
    connection_legacy_connect,
)
from tandem.engagement.connect.services.migration import (
    auto_connect_sweep,
    migration_start,
    users_migrate,
)
from tandem.engagement.connect.services.outages import connection_options_update, outage_schedule
from tandem.engagement.connect.services.pkce import (
    authorize_url,
    callback_url,
    code_identity,
    pkce_challenge,
    pkce_pair,
)
from tandem.engagement.connect.services.records import audit, limit_record, usage_record
from tandem.engagement.connect.services.seam import crm_client, jwt_token, org_check
from tandem.engagement.connect.services.state import (
    legacy_credentials_erase,
    upgrade_begin,
    upgrade_callback,
    upgrade_complete,
    upgrade_identity_accept,
    upgrade_rollback,
    upgrade_verify_by_jwt,
)

__all__ = [
    "ConnectError",
    "ConnectStateError",
    "audit",
    "authorize_url",
    "auto_connect_sweep",
    "callback_url",
    "code_identity",
    "connected_user_map",
    "connection_legacy_connect",
    "connection_options_update",
    "connection_token",
    "crm_call",
    "crm_client",
    "jwt_token",
    "legacy_credentials_erase",
    "legacy_erase",
    "limit_record",
    "migration_lease",
    "migration_running",
    "migration_start",
    "org_check",
    "outage_schedule",
    "pkce_challenge",
    "pkce_pair",
    "upgrade_begin",
    "upgrade_callback",
    "upgrade_complete",
    "upgrade_identity_accept",
    "upgrade_rollback",
    "upgrade_verify_by_jwt",
    "usage_record",
    "user_auto_connect",
    "users_migrate",
    "window_close",
    "window_is_open",
]
