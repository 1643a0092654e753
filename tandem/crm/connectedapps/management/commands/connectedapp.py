"""`tandem crm connectedapp create|show|update|set-policy|link-permset|link-profile|ip-range|
rotate-secret`: thin edges over the services."""

from __future__ import annotations

import json
from argparse import ArgumentParser, BooleanOptionalAction
from pathlib import Path
from typing import Any, TypeVar

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tandem.crm.connectedapps.errors import ConnectedAppInvalidError
from tandem.crm.connectedapps.models import ConnectedApp, ConnectedAppPolicy
from tandem.crm.connectedapps.selectors import (
    connected_app_ip_range_find,
    connected_app_ip_range_list,
)
from tandem.crm.connectedapps.services import (
    connected_app_create,
    connected_app_ip_range_add,
    connected_app_ip_range_delete,
    connected_app_permission_sets_set,
    connected_app_policy_set,
    connected_app_profiles_set,
    connected_app_secret_rotate,
    connected_app_update,
)
from tandem.crm.oauth.policy import parse_refresh_token_policy
from tandem.crm.orgs.models import Org
from tandem.crm.permissions.models import PermissionSet
from tandem.crm.users.models import Profile

USAGE_ERROR = 2
T = TypeVar("T")


def _fail(message: str) -> CommandError:
    return CommandError(message, returncode=USAGE_ERROR)


class Command(BaseCommand):
    help = "Create, show and configure connected apps."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=CommandParser)
        create = sub.add_parser("create", help="Create an app; prints its key and secret once.")
        self._org(create)
        create.add_argument("--name", required=True)
        create.add_argument("--callback-url", action="append", required=True, dest="callback_urls")
        create.add_argument("--scopes", default="api refresh_token")
        create.add_argument("--certificate-file", type=Path)
        create.add_argument("--contact-email", default="")
        create.add_argument("--no-pkce", action="store_true")
        create.add_argument("--refresh-token-rotation", action="store_true",
                            help="Enable Refresh Token Rotation.")  # fmt: skip
        self._add_update_parser(sub)
        show = sub.add_parser("show", help="The app and its policies in the org, as JSON.")
        self._org_app(show)
        policy = sub.add_parser("set-policy", help="Change the app's OAuth policies.")
        self._org_app(policy)
        policy.add_argument(
            "--permitted-users", choices=["AllSelfAuthorized", "AdminApprovedPreAuthorized"]
        )
        policy.add_argument(
            "--ip-relaxation",
            choices=["ENFORCE", "ENFORCE_RELAXREFRESH", "BYPASS_2FACTOR", "BYPASS"],
        )
        policy.add_argument(
            "--refresh-token-policy", help="infinite | zero | specific_lifetime:N:DAYS"
        )
        policy.add_argument("--session-timeout", type=int, help="Minutes (0: the default).")
        link = sub.add_parser("link-permset", help="Pre-authorize holders of a permission set.")
        self._org_app(link)
        link.add_argument("--permission-set", required=True, help="API name")
        link.add_argument("--unlink", action="store_true")
        self._add_link_profile_parser(sub)
        rotate = sub.add_parser("rotate-secret", help="A new consumer secret, printed once.")
        self._org_app(rotate)
        ip_range = sub.add_parser("ip-range", help="Trusted IP Ranges for OAuth Web Server Flow.")
        verbs = ip_range.add_subparsers(dest="ip_range_action", required=True,
                                        parser_class=CommandParser)  # fmt: skip
        for verb in ("add", "remove", "list"):
            verb_parser = verbs.add_parser(verb)
            self._org_app(verb_parser)
            if verb != "list":
                verb_parser.add_argument("--start", required=True, help="Start IP Address")
                verb_parser.add_argument("--end", required=True, help="End IP Address")
            if verb == "add":
                verb_parser.add_argument("--description", default="")

    def _add_update_parser(self, sub: Any) -> None:
        update = sub.add_parser("update", help="Edit the app's settings (its own org only).")
        self._org_app(update)
        update.add_argument("--name")
        update.add_argument("--contact-email")
        update.add_argument(
            "--callback-url", action="append", dest="callback_urls", help="Repeat; replaces all."
        )
        update.add_argument("--scopes", help='Space-separated, e.g. "api refresh_token".')
        update.add_argument("--certificate-file", type=Path)
        update.add_argument("--pkce", action=BooleanOptionalAction, default=None)
        update.add_argument("--refresh-token-rotation", action=BooleanOptionalAction, default=None,
                            help="Enable Refresh Token Rotation.")  # fmt: skip

    def _add_link_profile_parser(self, sub: Any) -> None:
        link = sub.add_parser("link-profile", help="Pre-authorize users of a profile.")
        self._org_app(link)
        link.add_argument("--profile", required=True, help="Profile name")
        link.add_argument("--unlink", action="store_true")

    def _org(self, parser: ArgumentParser) -> None:
        parser.add_argument("--org", required=True, help="Org id or My Domain name")

    def _org_app(self, parser: ArgumentParser) -> None:
        self._org(parser)
        parser.add_argument("app", help="App id, consumer key or name")

    def handle(self, *args: Any, **options: Any) -> None:
        org = self._find_org(options["org"])
        try:
            getattr(self, "_" + options["action"].replace("-", "_"))(org, options)
        except ConnectedAppInvalidError as exc:
            raise _fail(str(exc)) from None

    def _find_org(self, ref: str) -> Org:
        org = Org.objects.filter(pk=ref).first() or Org.objects.filter(my_domain=ref).first()
        if org is None:
            raise _fail(f"no org {ref!r}")
        return org

    def _find_policy(self, org: Org, ref: str) -> ConnectedAppPolicy:
        apps = ConnectedApp.objects.filter(policies__org=org)
        app = apps.filter(pk=ref).first() or apps.filter(client_id=ref).first()
        app = app or apps.filter(name=ref).first()
        if app is None:
            raise _fail(f"no connected app {ref!r} in org {org.name}")
        return ConnectedAppPolicy.objects.select_related("app", "org").get(app=app, org=org)

    def _create(self, org: Org, options: dict[str, Any]) -> None:
        path = options["certificate_file"]
        certificate = _read_certificate(path) if path else ""
        created = connected_app_create(
            org=org, actor=None, name=options["name"], callback_urls=options["callback_urls"],
            scopes=options["scopes"].split(), certificate=certificate,
            contact_email=options["contact_email"], pkce_required=not options["no_pkce"],
            refresh_token_rotation=options["refresh_token_rotation"],
        )  # fmt: skip
        self._print({"id": created.app.pk, "consumer_key": created.app.client_id,
                     "consumer_secret": created.consumer_secret})  # fmt: skip

    def _show(self, org: Org, options: dict[str, Any]) -> None:
        row = self._find_policy(org, options["app"])
        app = row.app
        self._print({
            "id": app.pk, "name": app.name, "consumer_key": app.client_id,
            "callback_urls": app.callback_urls, "oauth_scopes": app.scope_list,
            "pkce_required": app.pkce_required, "certificate": bool(app.certificate),
            "refresh_token_rotation": app.refresh_token_rotation_enabled,
            "permitted_users": row.permitted_users, "ip_relaxation": row.ip_relaxation,
            "refresh_token_policy": row.as_policy().refresh_token_policy_value,
            "session_timeout_minutes": row.session_timeout_minutes,
            "permission_sets": sorted(
                row.access.filter(permission_set__isnull=False)
                .values_list("permission_set__api_name", flat=True)
            ),
            "profiles": sorted(
                row.access.filter(profile__isnull=False).values_list("profile__name", flat=True)
            ),
        })  # fmt: skip

    def _set_policy(self, org: Org, options: dict[str, Any]) -> None:
        row = self._find_policy(org, options["app"])
        kind, validity, unit = (
            row.refresh_token_policy,
            row.refresh_token_validity,
            row.refresh_token_unit,
        )
        if options["refresh_token_policy"]:
            try:
                kind, validity, unit = parse_refresh_token_policy(options["refresh_token_policy"])
            except ValueError as exc:
                raise _fail(str(exc)) from None
        timeout = options["session_timeout"]
        minutes = row.session_timeout_minutes if timeout is None else (timeout or None)
        connected_app_policy_set(
            actor=None, policy=row,
            permitted_users=options["permitted_users"] or row.permitted_users,
            ip_relaxation=options["ip_relaxation"] or row.ip_relaxation,
            refresh_token_policy=kind, refresh_token_validity=validity, refresh_token_unit=unit,
            session_timeout_minutes=minutes,
        )  # fmt: skip
        self._show(org, options)

    def _link_permset(self, org: Org, options: dict[str, Any]) -> None:
        row = self._find_policy(org, options["app"])
        permission_set = PermissionSet.objects.filter(
            org=org, api_name=options["permission_set"]
        ).first()
        if permission_set is None:
            raise _fail(f"no permission set with API name {options['permission_set']!r}")
        current = list(PermissionSet.objects.filter(pk__in=row.access.values("permission_set_id")))
        if options["unlink"]:
            chosen = [ps for ps in current if ps.pk != permission_set.pk]
        else:
            chosen = [*current, permission_set] if permission_set not in current else current
        connected_app_permission_sets_set(actor=None, policy=row, permission_sets=chosen)
        self._show(org, options)

    def _update(self, org: Org, options: dict[str, Any]) -> None:
        row = self._find_policy(org, options["app"])
        app = row.app
        fields = ("name", "contact_email", "callback_urls", "scopes", "certificate_file", "pkce",
                  "refresh_token_rotation")  # fmt: skip
        if all(options[field] is None for field in fields):
            raise _fail("nothing to change: give --name, --contact-email, --callback-url, "
                        "--scopes, --certificate-file, --pkce/--no-pkce or "
                        "--refresh-token-rotation/--no-refresh-token-rotation")  # fmt: skip
        scopes = options["scopes"]
        certificate = options["certificate_file"]
        connected_app_update(
            actor=None, app=app, org=org, name=_given(options["name"], app.name),
            contact_email=_given(options["contact_email"], app.contact_email),
            callback_urls=_given(options["callback_urls"], app.callback_urls),
            scopes=app.scope_list if scopes is None else scopes.split(),
            certificate=app.certificate if certificate is None else _read_certificate(certificate),
            pkce_required=_given(options["pkce"], app.pkce_required),
            refresh_token_rotation=options["refresh_token_rotation"],
        )  # fmt: skip
        self._show(org, {**options, "app": app.pk})  # by id: the name may have changed

    def _link_profile(self, org: Org, options: dict[str, Any]) -> None:
        row = self._find_policy(org, options["app"])
        profile = Profile.objects.filter(org=org, name=options["profile"]).first()
        if profile is None:
            raise _fail(f"no profile named {options['profile']!r} in org {org.name}")
        current = list(Profile.objects.filter(pk__in=row.access.values("profile_id")))
        chosen = [p for p in current if p.pk != profile.pk]
        if not options["unlink"]:
            chosen.append(profile)
        connected_app_profiles_set(actor=None, policy=row, profiles=chosen)
        self._show(org, options)

    def _rotate_secret(self, org: Org, options: dict[str, Any]) -> None:
        row = self._find_policy(org, options["app"])
        if row.app.org_id != org.pk:
            raise _fail("only the org that owns the app can rotate its secret")
        secret = connected_app_secret_rotate(actor=None, app=row.app, org=org)
        self._print({"consumer_key": row.app.client_id, "consumer_secret": secret})

    def _ip_range(self, org: Org, options: dict[str, Any]) -> None:
        row = self._find_policy(org, options["app"])
        verb = options["ip_range_action"]
        if verb == "add":
            connected_app_ip_range_add(actor=None, policy=row, start_address=options["start"],
                                       end_address=options["end"],
                                       description=options["description"])  # fmt: skip
        elif verb == "remove":
            found = connected_app_ip_range_find(
                policy=row, start_address=options["start"], end_address=options["end"]
            )
            if found is None:
                raise _fail(f"no IP range {options['start']}-{options['end']} for {row.app.name}")
            connected_app_ip_range_delete(actor=None, policy=row, row=found)
        ranges = [{"start": r.start_address, "end": r.end_address, "description": r.description}
                  for r in connected_app_ip_range_list(policy=row)]  # fmt: skip
        self._print({"app": row.app.name, "ip_ranges": ranges})

    def _print(self, data: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(data, indent=2))


def _given(value: T | None, current: T) -> T:
    """The option's value, or the current one when the option was left out."""
    return current if value is None else value


def _read_certificate(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read the certificate: {exc}") from None
