"""Org reads, scoped to the actor's org."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from tandem.crm.orgs.models import TrustedIpRange
from tandem.crm.users.models import User


def trusted_ip_range_list(*, actor: User) -> QuerySet[TrustedIpRange]:
    """The actor's org's Network Access ranges."""
    return TrustedIpRange.objects.filter(org_id=actor.org_id)


def trusted_ip_range_get_for_actor(*, actor: User, id: int) -> TrustedIpRange:
    """One range of the actor's org; 404 for any other."""
    found = trusted_ip_range_list(actor=actor).filter(id=id).first()
    if found is None:
        raise Http404("No such range.")
    return found
