"""`tandem crm user create`: a user with a profile and a given or generated password."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from tandem.crm.orgs.domains import org_login_url
from tandem.crm.setup.cli import SubcommandCommand, field_errors_text, org_from_ref, usage_error
from tandem.crm.users.errors import UserInvalidError
from tandem.crm.users.models import Profile, ProfileName
from tandem.crm.users.services import generate_password, security_token_reset, user_create


class Command(SubcommandCommand):
    help = "Manage CRM users."
    subcommands = {"create": "Create a user in an org."}

    def arguments_create(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="Org id, My Domain or name.")
        parser.add_argument("--username", required=True, help="Email-shaped, unique everywhere.")
        parser.add_argument("--email", help="Defaults to the username.")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", required=True)
        parser.add_argument(
            "--profile",
            default=ProfileName.STANDARD_USER,
            help="Profile name (default: Standard User).",
        )
        parser.add_argument("--password", help="Omit to generate one (printed once).")
        parser.add_argument("--marketing-user", action="store_true", help="Tick Marketing User.")
        parser.add_argument("--no-api", action="store_true", help="Untick API Enabled.")
        parser.add_argument(
            "--security-token", action="store_true", help="Issue a security token (printed once)."
        )

    def handle_create(self, **options: Any) -> dict[str, object]:
        org = org_from_ref(options["org"])
        profile = Profile.objects.filter(org=org, name=options["profile"]).first()
        if profile is None:
            names = ", ".join(Profile.objects.filter(org=org).values_list("name", flat=True))
            raise usage_error(f"--profile: no profile {options['profile']!r} (choose: {names})")
        password = options["password"] or generate_password()
        try:
            user = user_create(
                org=org, actor=None, username=options["username"],
                email=options["email"] or options["username"], first_name=options["first_name"],
                last_name=options["last_name"], profile=profile, password=password,
                is_marketing_user=options["marketing_user"], is_api_enabled=not options["no_api"],
            )  # fmt: skip
        except UserInvalidError as exc:
            raise usage_error(field_errors_text(exc.errors)) from None
        result: dict[str, object] = {
            "user_id": user.id, "username": user.username, "org_id": org.id,
            "profile": profile.name, "login_url": org_login_url(org),
            "password": password if not options["password"] else "(as given)",
        }  # fmt: skip
        if options["security_token"]:
            result["security_token"] = security_token_reset(user=user)
        return result
