"""`tandem crm org|user|permset`: CRM orgs, users and permission sets without clicking.

Each command parses its options and calls one service; `tandem crm <name>` reaches it through
a Django management command of the same name that runs this Typer app (tandem/cli/style.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tandem.cli.errors import CliError
from tandem.cli.style import JsonOption, OrgOption, emit, field_errors_text, typer_app

if TYPE_CHECKING:
    from tandem.crm.orgs.models import Org
    from tandem.crm.permissions.models import PermissionSet
    from tandem.crm.users.models import User

org_app = typer_app("Manage CRM orgs.")
user_app = typer_app("Manage CRM users.")
permset_app = typer_app("Manage CRM permission sets.")


def crm_django() -> None:
    """Django for the CRM, once (a management command shim has it already)."""
    from tandem.cli.django import use_service

    use_service("crm")
    import django

    django.setup()


def org_from_ref(ref: str) -> Org:
    """An org by id (15 or 18 characters), My Domain or exact name."""
    from tandem.core.ids import is_valid_id, to_18
    from tandem.crm.orgs.models import Org

    ref = ref.strip()
    candidates = Org.objects.all()
    if len(ref) == 15 and ref.isalnum():
        ref = to_18(ref)
    if is_valid_id(ref, "00D") and (found := candidates.filter(id=ref).first()):
        return found
    if found := candidates.filter(my_domain=ref.lower()).first():
        return found
    named = list(candidates.filter(name=ref)[:2])
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise CliError(f"--org: more than one org is named {ref!r}: use its id or My Domain")
    raise CliError(f"--org: no org {ref!r} (give its id, My Domain or name)")


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Option(help="The org's name.")],
    my_domain: Annotated[
        str | None, typer.Option(help="Company-specific login host name, e.g. acme.")
    ] = None,
    allow_username_password_flows: Annotated[
        bool, typer.Option(help="Allow the OAuth username-password flow (off by default).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Create an org (with System Administrator, Standard User and Marketing User profiles).

    Example: tandem crm org create --name Acme --my-domain acme --json
    """
    crm_django()
    from tandem.crm.orgs.domains import org_instance_url, org_login_url
    from tandem.crm.orgs.errors import OrgInvalidError
    from tandem.crm.orgs.services import org_create_with_settings

    try:
        org = org_create_with_settings(
            name=name,
            my_domain=my_domain,
            allow_username_password_flows=allow_username_password_flows,
        )
    except OrgInvalidError as exc:
        raise CliError(field_errors_text(exc.errors)) from None
    emit(
        {
            "org_id": org.id,
            "name": org.name,
            "my_domain": org.my_domain or "",
            "instance_url": org_instance_url(org),
            "login_url": org_login_url(org),
        },
        as_json,
    )


@user_app.command("create")
def user_create(
    org: OrgOption,
    username: Annotated[str, typer.Option(help="Email-shaped, unique everywhere.")],
    last_name: Annotated[str, typer.Option(help="The user's last name.")],
    email: Annotated[str | None, typer.Option(help="Defaults to the username.")] = None,
    first_name: Annotated[str, typer.Option(help="The user's first name.")] = "",
    profile: Annotated[str, typer.Option(help="Profile name.")] = "Standard User",
    password: Annotated[
        str | None, typer.Option(help="Omit to generate one (printed once).")
    ] = None,
    marketing_user: Annotated[bool, typer.Option(help="Tick Marketing User.")] = False,
    no_api: Annotated[bool, typer.Option(help="Untick API Enabled.")] = False,
    security_token: Annotated[
        bool, typer.Option(help="Issue a security token (printed once).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a user in an org, with a given or generated password.

    Example: tandem crm user create --org acme --username sys@acme.test --last-name System
    """
    crm_django()
    from tandem.crm.orgs.domains import org_login_url
    from tandem.crm.users.errors import UserInvalidError
    from tandem.crm.users.services import user_create_with_credentials

    found = org_from_ref(org)
    try:
        created = user_create_with_credentials(
            org=found,
            username=username,
            email=email or username,
            first_name=first_name,
            last_name=last_name,
            profile_name=profile,
            password=password,
            is_marketing_user=marketing_user,
            is_api_enabled=not no_api,
            with_security_token=security_token,
        )
    except UserInvalidError as exc:
        raise CliError(field_errors_text(exc.errors)) from None
    result: dict[str, object] = {
        "user_id": created.user.id,
        "username": created.user.username,
        "org_id": found.id,
        "profile": created.user.profile.name,
        "login_url": org_login_url(found),
        "password": created.password if not password else "(as given)",
    }
    if created.security_token:
        result["security_token"] = created.security_token
    emit(result, as_json)


def permission_set_from_ref(org: Org, ref: str, option: str = "--permset") -> PermissionSet:
    """A permission set of `org` by id or API name."""
    from tandem.core.ids import is_valid_id
    from tandem.crm.permissions.models import PermissionSet

    rows = PermissionSet.objects.filter(org=org)
    found = rows.filter(id=ref).first() if is_valid_id(ref, "0PS") else None
    found = found or rows.filter(api_name=ref).first()
    if found is None:
        raise CliError(f"{option}: no permission set {ref!r} in {org.name}")
    return found


def users_from_refs(org: Org, refs: list[str]) -> list[User]:
    """Users of `org` by username or id; every unknown one is named."""
    from tandem.crm.users.models import User

    users, unknown = [], []
    for ref in refs:
        user = User.objects.filter(org=org, username=ref.strip().lower()).first()
        user = user or User.objects.filter(org=org, id=ref).first()
        if user is None:
            unknown.append(ref)
        else:
            users.append(user)
    if unknown:
        raise CliError(f"--user: no user {', '.join(map(repr, unknown))} in {org.name}")
    return users


@permset_app.command("create")
def permset_create(
    org: OrgOption,
    label: Annotated[str, typer.Option(help="The label shown in Setup.")],
    api_name: Annotated[
        str | None, typer.Option(help="Defaults to one generated from the label.")
    ] = None,
    description: Annotated[str, typer.Option(help="Free text.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Create a permission set (the API name defaults to the generated one).

    Example: tandem crm permset create --org acme --label "Marketing Cloud Connected App"
    """
    crm_django()
    from tandem.crm.permissions.api_names import api_name_from_label
    from tandem.crm.permissions.errors import PermissionSetInvalidError
    from tandem.crm.permissions.services import permission_set_create

    found = org_from_ref(org)
    try:
        created = permission_set_create(
            org=found,
            actor=None,
            label=label,
            api_name=api_name or api_name_from_label(label),
            description=description,
        )
    except PermissionSetInvalidError as exc:
        raise CliError(field_errors_text(exc.errors)) from None
    emit(
        {"permission_set_id": created.id, "label": created.label, "api_name": created.api_name},
        as_json,
    )


@permset_app.command("assign")
def permset_assign(
    org: OrgOption,
    permset: Annotated[str, typer.Option(help="Permission set id or API name.")],
    user: Annotated[list[str], typer.Option(help="Username or id (repeat for more).")],
    as_json: JsonOption = False,
) -> None:
    """Assign a permission set to users.

    Example: tandem crm permset assign --org acme --permset Marketing_Cloud_Connected_App
    --user sys@acme.test
    """
    crm_django()
    from tandem.crm.permissions.services import permission_set_assign

    found = org_from_ref(org)
    permission_set = permission_set_from_ref(found, permset)
    users = users_from_refs(found, user)
    created = permission_set_assign(actor=None, permission_set=permission_set, users=users)
    assigned = {a.user.username for a in created}
    emit(
        {
            "permission_set_id": permission_set.id,
            "assigned": sorted(assigned),
            "already_assigned": sorted({u.username for u in users} - assigned),
        },
        as_json,
    )
