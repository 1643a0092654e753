"""`tandem crm connectedapp …`: create, show and configure connected apps, each command a thin
edge over one connected-app service (reached as `tandem crm connectedapp`, tandem/cli/style.py)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from tandem.cli.crm_setup import crm_django, org_from_ref
from tandem.cli.errors import CliError
from tandem.cli.style import JsonOption, OrgOption, emit, typer_app

if TYPE_CHECKING:
    from tandem.crm.connectedapps.models import ConnectedAppPolicy
    from tandem.crm.orgs.models import Org

T = TypeVar("T")

app = typer_app("Create, show and configure connected apps.")
ip_range_app = typer_app("Trusted IP Ranges for OAuth Web Server Flow.")
app.add_typer(ip_range_app, name="ip-range")

AppArgument = Annotated[str, typer.Argument(metavar="APP", help="App id, consumer key or name.")]


class PermittedUsersChoice(StrEnum):
    """Permitted Users, as the metadata spells it (docs/reference/oauth-policies.md)."""

    ALL_SELF_AUTHORIZED = "AllSelfAuthorized"
    ADMIN_APPROVED = "AdminApprovedPreAuthorized"


class IpRelaxationChoice(StrEnum):
    """IP Relaxation, as the metadata spells it (docs/reference/oauth-policies.md)."""

    ENFORCE = "ENFORCE"
    ENFORCE_RELAXREFRESH = "ENFORCE_RELAXREFRESH"
    BYPASS_2FACTOR = "BYPASS_2FACTOR"
    BYPASS = "BYPASS"


PermittedUsers = Annotated[PermittedUsersChoice | None, typer.Option(help="Permitted Users.")]
IpRelaxation = Annotated[IpRelaxationChoice | None, typer.Option(help="IP Relaxation.")]
CertificateFile = Annotated[
    Path | None, typer.Option(help="PEM certificate that verifies JWT bearer assertions.")
]


def _policy(org_ref: str, app_ref: str) -> tuple[Org, ConnectedAppPolicy]:
    crm_django()
    from tandem.crm.connectedapps.selectors import connected_app_policy_find

    org = org_from_ref(org_ref)
    row = connected_app_policy_find(org=org, ref=app_ref)
    if row is None:
        raise CliError(f"no connected app {app_ref!r} in org {org.name}")
    return org, row


def _invalid(function: object, **kwargs: object) -> object:
    """Call a service; its refusal becomes the one error line."""
    from tandem.crm.connectedapps.errors import ConnectedAppInvalidError

    try:
        return function(**kwargs)  # type: ignore[operator]
    except ConnectedAppInvalidError as exc:
        raise CliError(str(exc)) from None


def _show(row: ConnectedAppPolicy, as_json: bool) -> None:
    from tandem.crm.connectedapps.models import ConnectedAppPolicy
    from tandem.crm.connectedapps.selectors import connected_app_show

    row = ConnectedAppPolicy.objects.select_related("app", "org").get(pk=row.pk)
    emit(connected_app_show(policy=row), as_json)


def _certificate(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"--certificate-file: cannot read the certificate: {exc}") from None


def _given(value: T | None, current: T) -> T:
    """The option's value, or the current one when the option was left out."""
    return current if value is None else value


@app.command("create")
def create(
    org: OrgOption,
    name: Annotated[str, typer.Option(help="The app's name.")],
    callback_url: Annotated[list[str], typer.Option(help="A callback URL (repeat for more).")],
    scopes: Annotated[
        str, typer.Option(help="Space-separated OAuth scopes.")
    ] = "api refresh_token",
    certificate_file: CertificateFile = None,
    contact_email: Annotated[str, typer.Option(help="Who to ask about the app.")] = "",
    no_pkce: Annotated[bool, typer.Option(help="Do not require PKCE.")] = False,
    refresh_token_rotation: Annotated[
        bool, typer.Option(help="Enable Refresh Token Rotation.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Create an app; prints its consumer key and secret once.

    Example: tandem crm connectedapp create --org acme --name "Dev tools"
    --callback-url https://localhost:1717/OauthRedirect --json
    """
    crm_django()
    from tandem.crm.connectedapps.services import connected_app_create

    found = org_from_ref(org)
    created = _invalid(
        connected_app_create,
        org=found,
        actor=None,
        name=name,
        callback_urls=callback_url,
        scopes=scopes.split(),
        certificate=_certificate(certificate_file) or "",
        contact_email=contact_email,
        pkce_required=not no_pkce,
        refresh_token_rotation=refresh_token_rotation,
    )
    made, secret = created.app, created.consumer_secret  # type: ignore[attr-defined]
    emit({"id": made.pk, "consumer_key": made.client_id, "consumer_secret": secret}, as_json)


@app.command("show")
def show(app_ref: AppArgument, org: OrgOption, as_json: JsonOption = False) -> None:
    """The app and its policies in the org.

    Example: tandem crm connectedapp show "Salesforce Marketing Cloud" --org acme --json
    """
    _show(_policy(org, app_ref)[1], as_json)


@app.command("update")
def update(
    app_ref: AppArgument,
    org: OrgOption,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    contact_email: Annotated[str | None, typer.Option(help="A new contact email.")] = None,
    callback_url: Annotated[
        list[str] | None, typer.Option(help="Repeat; replaces all callback URLs.")
    ] = None,
    scopes: Annotated[str | None, typer.Option(help='e.g. "api refresh_token".')] = None,
    certificate_file: CertificateFile = None,
    pkce: Annotated[bool | None, typer.Option("--pkce/--no-pkce", help="Require PKCE.")] = None,
    refresh_token_rotation: Annotated[
        bool | None,
        typer.Option(
            "--refresh-token-rotation/--no-refresh-token-rotation",
            help="Enable Refresh Token Rotation.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Edit the app's settings (the org that owns it only).

    Example: tandem crm connectedapp update "Dev tools" --org acme --refresh-token-rotation
    """
    found, row = _policy(org, app_ref)
    given = (
        name,
        contact_email,
        callback_url,
        scopes,
        certificate_file,
        pkce,
        refresh_token_rotation,
    )
    if all(value is None for value in given):
        raise CliError(
            "nothing to change: give --name, --contact-email, --callback-url, "
            "--scopes, --certificate-file, --pkce/--no-pkce or "
            "--refresh-token-rotation/--no-refresh-token-rotation"
        )
    from tandem.crm.connectedapps.services import connected_app_update

    current = row.app
    _invalid(
        connected_app_update,
        actor=None,
        app=current,
        org=found,
        name=_given(name, current.name),
        contact_email=_given(contact_email, current.contact_email),
        callback_urls=_given(callback_url or None, current.callback_urls),
        scopes=current.scope_list if scopes is None else scopes.split(),
        certificate=_given(_certificate(certificate_file), current.certificate),
        pkce_required=_given(pkce, current.pkce_required),
        refresh_token_rotation=refresh_token_rotation,
    )
    _show(row, as_json)


@app.command("set-policy")
def set_policy(
    app_ref: AppArgument,
    org: OrgOption,
    permitted_users: PermittedUsers = None,
    ip_relaxation: IpRelaxation = None,
    refresh_token_policy: Annotated[
        str | None, typer.Option(help="infinite | zero | specific_lifetime:N:DAYS | …")
    ] = None,
    session_timeout: Annotated[int | None, typer.Option(help="Minutes (0: the default).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Change the app's OAuth policies in the org.

    Example: tandem crm connectedapp set-policy "Salesforce Marketing Cloud" --org acme
    --permitted-users AdminApprovedPreAuthorized --ip-relaxation BYPASS --refresh-token-policy zero
    """
    _, row = _policy(org, app_ref)
    from tandem.crm.connectedapps.services import connected_app_policy_change

    _invalid(
        connected_app_policy_change,
        actor=None,
        policy=row,
        permitted_users=permitted_users and permitted_users.value,
        ip_relaxation=ip_relaxation and ip_relaxation.value,
        refresh_token_policy=refresh_token_policy,
        session_timeout=session_timeout,
    )
    _show(row, as_json)


@app.command("link-permset")
def link_permset(
    app_ref: AppArgument,
    org: OrgOption,
    permission_set: Annotated[str, typer.Option(help="The permission set's API name.")],
    unlink: Annotated[bool, typer.Option(help="Unlink it instead.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Pre-authorize the holders of a permission set (or stop, with --unlink).

    Example: tandem crm connectedapp link-permset "Salesforce Marketing Cloud" --org acme
    --permission-set Marketing_Cloud_Connected_App
    """
    found, row = _policy(org, app_ref)
    from tandem.crm.connectedapps.services import connected_app_access_link
    from tandem.crm.permissions.models import PermissionSet

    chosen = PermissionSet.objects.filter(org=found, api_name=permission_set).first()
    if chosen is None:
        raise CliError(f"--permission-set: no permission set with API name {permission_set!r}")
    _invalid(
        connected_app_access_link, actor=None, policy=row, permission_set=chosen, linked=not unlink
    )
    _show(row, as_json)


@app.command("link-profile")
def link_profile(
    app_ref: AppArgument,
    org: OrgOption,
    profile: Annotated[str, typer.Option(help="The profile's name.")],
    unlink: Annotated[bool, typer.Option(help="Unlink it instead.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Pre-authorize the users of a profile (or stop, with --unlink).

    Example: tandem crm connectedapp link-profile "Dev tools" --org acme --profile "Standard User"
    """
    found, row = _policy(org, app_ref)
    from tandem.crm.connectedapps.services import connected_app_access_link
    from tandem.crm.users.models import Profile

    chosen = Profile.objects.filter(org=found, name=profile).first()
    if chosen is None:
        raise CliError(f"--profile: no profile named {profile!r} in org {found.name}")
    _invalid(connected_app_access_link, actor=None, policy=row, profile=chosen, linked=not unlink)
    _show(row, as_json)


@app.command("rotate-secret")
def rotate_secret(app_ref: AppArgument, org: OrgOption, as_json: JsonOption = False) -> None:
    """A new consumer secret, printed once (the org that owns the app only).

    Example: tandem crm connectedapp rotate-secret "Dev tools" --org acme --json
    """
    found, row = _policy(org, app_ref)
    from tandem.crm.connectedapps.services import connected_app_secret_rotate

    secret = _invalid(connected_app_secret_rotate, actor=None, app=row.app, org=found)
    emit({"consumer_key": row.app.client_id, "consumer_secret": secret}, as_json)


StartOption = Annotated[str, typer.Option("--start", help="Start IP Address.")]
EndOption = Annotated[str, typer.Option("--end", help="End IP Address.")]


def _ranges(row: ConnectedAppPolicy, as_json: bool) -> None:
    from tandem.crm.connectedapps.selectors import connected_app_ip_range_list

    ranges = [
        {"start": r.start_address, "end": r.end_address, "description": r.description}
        for r in connected_app_ip_range_list(policy=row)
    ]
    emit({"app": row.app.name, "ip_ranges": ranges}, as_json)


@ip_range_app.command("add")
def ip_range_add(
    app_ref: AppArgument,
    org: OrgOption,
    start: StartOption,
    end: EndOption,
    description: Annotated[str, typer.Option(help="Free text.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Add a range; then list the app's ranges in the org.

    Example: tandem crm connectedapp ip-range add "Dev tools" --org acme --start 10.0.0.1
    --end 10.0.0.255
    """
    _, row = _policy(org, app_ref)
    from tandem.crm.connectedapps.services import connected_app_ip_range_add

    _invalid(
        connected_app_ip_range_add,
        actor=None,
        policy=row,
        start_address=start,
        end_address=end,
        description=description,
    )
    _ranges(row, as_json)


@ip_range_app.command("remove")
def ip_range_remove(
    app_ref: AppArgument,
    org: OrgOption,
    start: StartOption,
    end: EndOption,
    as_json: JsonOption = False,
) -> None:
    """Remove a range (its ends in any spelling); then list the app's ranges in the org.

    Example: tandem crm connectedapp ip-range remove "Dev tools" --org acme --start 10.0.0.1
    --end 10.0.0.255
    """
    _, row = _policy(org, app_ref)
    from tandem.crm.connectedapps.services import connected_app_ip_range_remove

    _invalid(
        connected_app_ip_range_remove, actor=None, policy=row, start_address=start, end_address=end
    )
    _ranges(row, as_json)


@ip_range_app.command("list")
def ip_range_list(app_ref: AppArgument, org: OrgOption, as_json: JsonOption = False) -> None:
    """The app's Trusted IP Ranges for OAuth Web Server Flow in the org.

    Example: tandem crm connectedapp ip-range list "Dev tools" --org acme --json
    """
    _ranges(_policy(org, app_ref)[1], as_json)
