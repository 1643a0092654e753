"""Template tags the Salesforce Integration page uses to show synchronized data sources."""

from __future__ import annotations

from django import template

from tandem.engagement.syncs.models import SyncSource
from tandem.engagement.syncs.selectors import sources_paused_by_connect

register = template.Library()


@register.simple_tag
def syncs_paused_by_outage(account_id: int) -> list[SyncSource]:
    """The scheduled sources an outage (or the upgrade) pauses: Connect activities too."""
    return list(sources_paused_by_connect(account_id))
