"""`tandem crm org create`: a new org with its standard profiles."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from tandem.crm.orgs.domains import org_instance_url, org_login_url
from tandem.crm.orgs.errors import OrgInvalidError
from tandem.crm.orgs.services import org_create
from tandem.crm.setup.cli import SubcommandCommand, field_errors_text, usage_error


class Command(SubcommandCommand):
    help = "Manage CRM orgs."
    subcommands = {"create": "Create an org (with System Administrator, Standard User and "
                             "Marketing User profiles)."}  # fmt: skip

    def arguments_create(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="The org's name.")
        parser.add_argument("--my-domain", help="Company-specific login host name, e.g. acme.")
        parser.add_argument(
            "--allow-username-password-flows",
            action="store_true",
            help="Allow the OAuth username-password flow (off by default).",
        )

    def handle_create(self, **options: Any) -> dict[str, object]:
        try:
            org = org_create(name=options["name"], my_domain=options["my_domain"])
        except OrgInvalidError as exc:
            raise usage_error(field_errors_text(exc.errors)) from None
        if options["allow_username_password_flows"]:
            org.allow_username_password_flows = True
            org.save(update_fields=["allow_username_password_flows"])
        return {
            "org_id": org.id,
            "name": org.name,
            "my_domain": org.my_domain or "",
            "instance_url": org_instance_url(org),
            "login_url": org_login_url(org),
        }
