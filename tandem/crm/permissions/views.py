"""Setup → Permission Sets: list, New, detail, Manage Assignments, Add Assignments."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from tandem.crm.permissions.errors import PermissionSetInvalidError
from tandem.crm.permissions.forms import PermissionSetForm
from tandem.crm.permissions.selectors import (
    permission_set_assignable_users,
    permission_set_assignment_list,
    permission_set_get_for_actor,
    permission_set_list,
)
from tandem.crm.permissions.services import (
    permission_set_assign,
    permission_set_create,
    permission_set_unassign,
)
from tandem.crm.setup.access import setup_actor, setup_required
from tandem.crm.users.models import User
from tandem.crm.users.selectors import user_list


@setup_required
def permission_set_list_view(request: HttpRequest) -> HttpResponse:
    """Permission Sets."""
    sets = permission_set_list(actor=setup_actor(request))
    return render(request, "crm/permissions/list.html", {"permission_sets": sets})


@setup_required
def permission_set_new(request: HttpRequest) -> HttpResponse:
    """New: Label and API Name; Save validates every rule and shows each violation."""
    actor = setup_actor(request)
    form = PermissionSetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = permission_set_create(
                org=actor.org,
                actor=actor,
                label=form.cleaned_data["label"],
                api_name=form.cleaned_data["api_name"],
                description=form.cleaned_data["description"],
                bulk_api_hard_delete=form.cleaned_data["bulk_api_hard_delete"],
            )
        except PermissionSetInvalidError as exc:
            form.add_service_errors(exc.errors)
        else:
            return redirect("crm_permissions:permission_set_detail", id=created.id)
    return render(request, "crm/permissions/new.html", {"form": form})


@setup_required
def permission_set_detail(request: HttpRequest, id: str) -> HttpResponse:
    """One permission set."""
    actor = setup_actor(request)
    permission_set = permission_set_get_for_actor(actor=actor, id=id)
    count = permission_set_assignment_list(actor=actor, permission_set=permission_set).count()
    context = {"permission_set": permission_set, "assigned_count": count}
    return render(request, "crm/permissions/detail.html", context)


def _chosen_users(request: HttpRequest, users: QuerySet[User]) -> list[User]:
    """The ticked users, among `users` only (ids of other orgs are ignored)."""
    ids = request.POST.getlist("user")
    return list(users.filter(id__in=ids)) if ids else []


@setup_required
def permission_set_assignments(request: HttpRequest, id: str) -> HttpResponse:
    """Manage Assignments: who holds the set; Remove Assignments."""
    actor = setup_actor(request)
    permission_set = permission_set_get_for_actor(actor=actor, id=id)
    if request.method == "POST":
        users = _chosen_users(request, user_list(actor=actor))
        permission_set_unassign(actor=actor, permission_set=permission_set, users=users)
        return redirect("crm_permissions:permission_set_assignments", id=permission_set.id)
    assignments = permission_set_assignment_list(actor=actor, permission_set=permission_set)
    context = {"permission_set": permission_set, "assignments": assignments}
    return render(request, "crm/permissions/assignments.html", context)


@setup_required
def permission_set_add_assignments(request: HttpRequest, id: str) -> HttpResponse:
    """Add Assignments: a user list with checkboxes; Assign, then a summary with Done."""
    actor = setup_actor(request)
    permission_set = permission_set_get_for_actor(actor=actor, id=id)
    candidates = permission_set_assignable_users(actor=actor, permission_set=permission_set)
    error = ""
    if request.method == "POST":
        users = _chosen_users(request, candidates)
        if users:
            created = permission_set_assign(actor=actor, permission_set=permission_set, users=users)
            context = {"permission_set": permission_set, "created": created}
            return render(request, "crm/permissions/assigned.html", context)
        error = "Select at least one user to assign."
    context = {"permission_set": permission_set, "candidates": candidates, "error": error}
    return render(request, "crm/permissions/add_assignments.html", context)
