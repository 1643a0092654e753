"""Permission sets and their assignments to users."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower

from tandem.core import ids
from tandem.crm.orgs.models import Org
from tandem.crm.users.models import User


class PermissionSet(models.Model):
    """A named grant that users are assigned (it may hold no permissions at all)."""

    id = models.CharField(
        primary_key=True, max_length=18, default=ids.new_permission_set_id, editable=False
    )
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="permission_sets")
    label = models.CharField("Label", max_length=80)
    api_name = models.CharField("API Name", max_length=80)
    description = models.CharField("Description", max_length=255, blank=True)
    bulk_api_hard_delete = models.BooleanField("Bulk API Hard Delete", default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("label", "id")
        constraints = [
            # API names are case-insensitive, as in Salesforce: Marketing_Cloud and
            # marketing_cloud cannot both exist in one org.
            models.UniqueConstraint(
                "org", Lower("api_name"), name="crm_permission_set_api_name_unique_in_org"
            )
        ]

    def __str__(self) -> str:
        return self.label


class PermissionSetAssignment(models.Model):
    """One user holding one permission set."""

    id = models.CharField(
        primary_key=True,
        max_length=18,
        default=ids.new_permission_set_assignment_id,
        editable=False,
    )
    permission_set = models.ForeignKey(
        PermissionSet, on_delete=models.CASCADE, related_name="assignments"
    )
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="permission_set_assignments"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("user__last_name", "user__first_name", "user__username")
        constraints = [
            models.UniqueConstraint(
                fields=("permission_set", "user"), name="crm_permission_set_assignment_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.permission_set_id} → {self.user_id}"
