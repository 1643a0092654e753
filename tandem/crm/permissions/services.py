"""Permission sets: create, assign, unassign; every change audited."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from tandem.crm.orgs.models import Org
from tandem.crm.permissions.api_names import api_name_errors
from tandem.crm.permissions.errors import PermissionSetInvalidError
from tandem.crm.permissions.models import PermissionSet, PermissionSetAssignment
from tandem.crm.setup.services import setup_audit_record
from tandem.crm.users.models import User

SECTION = "Manage Users"
LABEL_MAX_LENGTH = 80
API_NAME_TAKEN = "The API name is already in use in this org: choose another."


def permission_set_errors(*, org: Org, label: str, api_name: str) -> dict[str, list[str]]:
    """Every violation, per field, of a new permission set's label and API name."""
    errors: dict[str, list[str]] = {}
    if not label.strip():
        errors["label"] = ["Enter a label."]
    elif len(label.strip()) > LABEL_MAX_LENGTH:
        errors["label"] = [f"The label can't be longer than {LABEL_MAX_LENGTH} characters."]
    name_errors = api_name_errors(api_name)
    if (
        not name_errors
        and PermissionSet.objects.filter(org=org, api_name__iexact=api_name).exists()
    ):
        name_errors.append(API_NAME_TAKEN)
    if name_errors:
        errors["api_name"] = name_errors
    return errors


@transaction.atomic
def permission_set_create(
    *,
    org: Org,
    actor: User | None,
    label: str,
    api_name: str,
    description: str = "",
    bulk_api_hard_delete: bool = False,
) -> PermissionSet:
    """Create a permission set after validating every rule; audited."""
    label, api_name = label.strip(), api_name.strip()
    errors = permission_set_errors(org=org, label=label, api_name=api_name)
    if len(description) > 255:
        errors["description"] = ["The description can't be longer than 255 characters."]
    if errors:
        raise PermissionSetInvalidError(errors)
    try:
        with transaction.atomic():  # a concurrent create of the same name meets the constraint
            permission_set = PermissionSet.objects.create(
                org=org,
                label=label,
                api_name=api_name,
                description=description.strip(),
                bulk_api_hard_delete=bulk_api_hard_delete,
            )
    except IntegrityError:
        raise PermissionSetInvalidError({"api_name": [API_NAME_TAKEN]}) from None
    setup_audit_record(
        org=org,
        actor=actor,
        action="permission_set.created",
        section=SECTION,
        target=label,
        new={
            "label": label,
            "api_name": api_name,
            "description": description,
            "bulk_api_hard_delete": bulk_api_hard_delete,
        },
    )
    return permission_set


def _same_org_users(permission_set: PermissionSet, users: Iterable[User]) -> list[User]:
    chosen = list(users)
    if any(user.org_id != permission_set.org_id for user in chosen):
        raise PermissionSetInvalidError({"users": ["Choose users of this org."]})
    return chosen


@transaction.atomic
def permission_set_assign(
    *, actor: User | None, permission_set: PermissionSet, users: Iterable[User]
) -> list[PermissionSetAssignment]:
    """Assign the set to each user not holding it yet; returns the new assignments."""
    chosen = _same_org_users(permission_set, users)
    held = set(permission_set.assignments.values_list("user_id", flat=True))
    created = [
        PermissionSetAssignment.objects.create(permission_set=permission_set, user=user)
        for user in chosen
        if user.id not in held
    ]
    if created:
        setup_audit_record(
            org=permission_set.org,
            actor=actor,
            action="permission_set.assigned",
            section=SECTION,
            target=permission_set.label,
            old=sorted(_usernames(held)),
            new=sorted(a.user.username for a in created),
        )
    return created


def _usernames(user_ids: Iterable[str]) -> list[str]:
    return list(User.objects.filter(id__in=list(user_ids)).values_list("username", flat=True))


@transaction.atomic
def permission_set_unassign(
    *, actor: User | None, permission_set: PermissionSet, users: Iterable[User]
) -> int:
    """Remove the set from each user; returns how many assignments were removed."""
    chosen = _same_org_users(permission_set, users)
    rows = permission_set.assignments.filter(user__in=chosen)
    removed = sorted(rows.values_list("user__username", flat=True))
    count, _ = rows.delete()
    if count:
        setup_audit_record(
            org=permission_set.org,
            actor=actor,
            action="permission_set.unassigned",
            section=SECTION,
            target=permission_set.label,
            old=removed,
            new=None,
        )
    return count
