"""The hourly tracking catch-up across every connected account: results of completed sends
not written yet, changed tracking written back, expired CRM audiences purged.

Not re-exported by the package: it stands above the write-back and audience services."""

from __future__ import annotations

from tandem.engagement.connect.audiences import audience_purge_expired
from tandem.engagement.connect.models import CrmConnection
from tandem.engagement.connect.writeback import (
    pending_results_send_ids,
    send_results_write,
    tracking_write,
)


def tracking_catch_up_all() -> None:
    """One pass over every connected account, then the purge of expired audiences."""
    for account_id in CrmConnection.objects.values_list("account_id", flat=True):
        for send_id in pending_results_send_ids(account_id):
            send_results_write(send_id=send_id)
        tracking_write(account_id=account_id)
    audience_purge_expired()
