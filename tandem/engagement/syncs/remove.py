"""Removing a synchronized data source: the source, its filters and its data extension."""

from __future__ import annotations

from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension
from tandem.engagement.syncs.audit import settings_of, sync_audit
from tandem.engagement.syncs.errors import SyncError
from tandem.engagement.syncs.models import FilteredDataExtension, SyncSource


@transaction.atomic
def source_remove(*, source: SyncSource, actor: User | None = None) -> None:
    """Delete the source, the filtered data extensions over it and its `<Object>_Salesforce`
    data extension with its rows; audited as `actor`'s. Refused while a run holds the source
    (its next page would write into a data extension that is gone) or while a send names the
    data extension as its audience."""
    locked = SyncSource.objects.select_for_update().filter(pk=source.pk).first()
    if locked is None:
        raise SyncError("That synchronized data source does not exist.")
    if locked.lease_until is not None and locked.lease_until >= timezone.now():
        raise SyncError(f"A run of {locked.de_name} is going on: remove it once the run ends.")
    filters = FilteredDataExtension.objects.filter(source=locked)
    old = {
        **settings_of(locked),
        "state": locked.state,
        "rows": locked.data_extension.rows.count(),
        "filters": sorted(filters.values_list("name", flat=True)),
    }
    data_extension_id = locked.data_extension_id
    filters.delete()
    locked.delete()
    try:  # the refusal rolls the deletions above back with it
        DataExtension.objects.filter(pk=data_extension_id).delete()
    except ProtectedError:
        raise SyncError(
            f"A send uses {locked.de_name} as its audience: it cannot be removed."
        ) from None
    sync_audit(locked.account, actor, "sync.removed", locked.de_name, old, None)
