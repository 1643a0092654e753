"""`tandem crm permset create|assign`: permission sets without clicking."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from tandem.core.ids import is_valid_id
from tandem.crm.orgs.models import Org
from tandem.crm.permissions.api_names import api_name_from_label
from tandem.crm.permissions.errors import PermissionSetInvalidError
from tandem.crm.permissions.models import PermissionSet
from tandem.crm.permissions.services import permission_set_assign, permission_set_create
from tandem.crm.setup.cli import SubcommandCommand, field_errors_text, org_from_ref, usage_error
from tandem.crm.users.models import User


def permission_set_from_ref(org: Org, ref: str) -> PermissionSet:
    """A permission set of `org` by id or API name."""
    rows = PermissionSet.objects.filter(org=org)
    found = rows.filter(id=ref).first() if is_valid_id(ref, "0PS") else None
    found = found or rows.filter(api_name=ref).first()
    if found is None:
        raise usage_error(f"--permset: no permission set {ref!r} in {org.name}")
    return found


def users_from_refs(org: Org, refs: list[str]) -> list[User]:
    """Users of `org` by username or id; every unknown one is named."""
    users, unknown = [], []
    for ref in refs:
        user = User.objects.filter(org=org, username=ref.strip().lower()).first()
        user = user or User.objects.filter(org=org, id=ref).first()
        if user is None:
            unknown.append(ref)
        else:
            users.append(user)
    if unknown:
        raise usage_error(f"--user: no user {', '.join(map(repr, unknown))} in {org.name}")
    return users


class Command(SubcommandCommand):
    help = "Manage CRM permission sets."
    subcommands = {
        "create": "Create a permission set (the API name defaults to the generated one).",
        "assign": "Assign a permission set to users.",
    }

    def arguments_create(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="Org id, My Domain or name.")
        parser.add_argument("--label", required=True)
        parser.add_argument("--api-name", help="Defaults to one generated from the label.")
        parser.add_argument("--description", default="")

    def arguments_assign(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="Org id, My Domain or name.")
        parser.add_argument("--permset", required=True, help="Permission set id or API name.")
        parser.add_argument(
            "--user", required=True, action="append", help="Username or id (repeat for more)."
        )

    def handle_create(self, **options: Any) -> dict[str, object]:
        org = org_from_ref(options["org"])
        api_name = options["api_name"] or api_name_from_label(options["label"])
        try:
            created = permission_set_create(
                org=org, actor=None, label=options["label"], api_name=api_name,
                description=options["description"],
            )  # fmt: skip
        except PermissionSetInvalidError as exc:
            raise usage_error(field_errors_text(exc.errors)) from None
        return {"permission_set_id": created.id, "label": created.label,
                "api_name": created.api_name}  # fmt: skip

    def handle_assign(self, **options: Any) -> dict[str, object]:
        org = org_from_ref(options["org"])
        permission_set = permission_set_from_ref(org, options["permset"])
        users = users_from_refs(org, options["user"])
        created = permission_set_assign(actor=None, permission_set=permission_set, users=users)
        return {
            "permission_set_id": permission_set.id,
            "assigned": [a.user.username for a in created],
            "already_assigned": sorted({u.username for u in users} -
                                       {a.user.username for a in created}),
        }  # fmt: skip
