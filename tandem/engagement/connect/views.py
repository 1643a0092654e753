"""Email Studio > Admin > Salesforce Integration: state, legacy connect, the upgrade, outages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from tandem.engagement.accounts.access import (
    account_member_required,
    administrator_required,
    member_of,
)
from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect import forms, selectors, services
from tandem.engagement.connect.errors import ConnectError, UpgradeIdentityError
from tandem.engagement.connect.models import (
    ConnectionState,
    CrmConnection,
    MigrationRun,
    UserConnectionState,
)
from tandem.engagement.connect.testmail import connect_test_email_send
from tandem.engagement.connect.user_connection import (
    PendingUserConnection,
    user_connection_begin,
    user_connection_complete,
)

INDEX = "engagement_connect:index"
T = "engagement/connect/"
PENDING_KEY = "connect_user_connection"
R = TypeVar("R")


def _account(request: HttpRequest) -> tuple[User, Account]:
    actor = member_of(request)
    assert actor.account is not None
    return actor, actor.account


def _connection(account: Account) -> CrmConnection:
    connection = selectors.crm_connection_get(account=account)
    if connection is None:
        raise Http404("The account is not connected to a CRM.")
    return connection


def _legacy(connection: CrmConnection | None) -> bool:
    """Whether Connect logs users in with their CRM password (so the forms ask for it)."""
    return connection is None or connection.state == ConnectionState.LEGACY


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    return render(request, T + template, {"admin_section": "salesforce", **context}, status=status)


def _user_choices(account: Account) -> list[tuple[str, str]]:
    return [(str(u.pk), u.get_username()) for u in account.users.order_by("username")]


def _mine(actor: User, account: Account, connection: CrmConnection | None) -> dict[str, Any]:
    """The signed-in user's own connection, and whether they may connect by hand."""
    if connection is None:
        return {"mine": None, "can_connect": False}
    row = selectors.user_connection_rows(account=account, connection=connection, user=actor)[0]
    can_connect = (
        connection.state == ConnectionState.CONNECTED_APP
        and row.state != UserConnectionState.CONNECTED
    )
    return {"mine": row, "can_connect": can_connect}


@account_member_required
def index(request: HttpRequest) -> HttpResponse:
    """The integration's state: mode, org, system user, users, last sync, API usage."""
    actor, account = _account(request)
    connection = selectors.crm_connection_get(account=account)
    if not actor.is_account_admin:
        mine = {"connection": connection, **_mine(actor, account, connection)}
        return render(request, T + "mine.html", mine)
    run = None
    if run_id := request.GET.get("run", "").strip():
        run = (
            selectors.migration_run_get(account=account, run_id=int(run_id))
            if run_id.isdigit()
            else None
        )
    usage = selectors.usage_range(request.GET.get("usage_days"))
    families = selectors.api_usage_by_family(account=account, days=usage)
    context: dict[str, Any] = {
        "account": account,
        "connection": connection,
        "run": run,
        "progress": selectors.migration_progress(run=run) if run else None,
        "user_rows": (
            selectors.user_connection_rows(account=account, connection=connection)
            if connection
            else []
        ),
        **_mine(actor, account, connection),
        "usage_range": usage,
        "usage_ranges": selectors.USAGE_RANGES,
        "usage_days": selectors.api_usage_by_day(account=account, days=usage),
        "usage_users": selectors.api_usage_by_user(account=account, days=usage),
        "usage_families": families,
        "usage_bulk_share": selectors.bulk_share(families),
        "outages": [
            (o, selectors.outage_activities(outage=o))
            for o in selectors.outage_list(account=account)
        ],
        "legacy_form": forms.LegacyConnectForm(),
        "map_form": forms.UserMapForm(users=_user_choices(account), legacy=_legacy(connection)),
        "outage_form": forms.OutageForm(),
        "test_form": forms.TestEmailForm(account_id=account.pk),
        "options_form": forms.OptionsForm(
            initial={"hold_crm_sends": bool(connection and connection.hold_crm_sends)}
        ),
        "days_left": selectors.days_left(connection) if connection else None,
    }
    return _page(request, "index.html", context)


def _act(
    request: HttpRequest,
    call: Callable[[], R],
    success: Callable[[R], str] | str = "",
    to: Callable[[R], str] | str = INDEX,
) -> HttpResponse:
    """Run one Connect service for a button: a refusal comes back as a message on the
    integration page, a success as its message and a redirect."""
    try:
        result = call()
    except ConnectError as error:
        messages.error(request, error.message)
        return redirect(INDEX)
    text = success(result) if callable(success) else success
    if text:
        messages.success(request, text)
    return redirect(to(result) if callable(to) else to)


def _refused(form: Form, error: ConnectError) -> None:
    """A service's refusal beside the field it names, else above the form."""
    form.add_error(error.field if error.field in form.fields else None, error.message)


@administrator_required
@require_POST
def connect_legacy(request: HttpRequest) -> HttpResponse:
    """Connect the account with the system user's password and security token."""
    actor, account = _account(request)
    form = forms.LegacyConnectForm(request.POST)
    if not form.is_valid():
        return _page(request, "legacy.html", {"form": form}, status=400)
    try:
        services.connection_legacy_connect(actor=actor, account=account, **form.cleaned_data)
    except ConnectError as error:
        _refused(form, error)
        return _page(request, "legacy.html", {"form": form}, status=400)
    messages.success(request, "The account is connected to the CRM (legacy authentication).")
    return redirect(INDEX)


@administrator_required
@require_POST
def map_user(request: HttpRequest) -> HttpResponse:
    """Integrate for Salesforce.com Status: map an Engagement user to a CRM username."""
    actor, account = _account(request)
    connection = _connection(account)
    form = forms.UserMapForm(request.POST, users=_user_choices(account), legacy=_legacy(connection))
    if not form.is_valid():
        return _page(request, "map.html", {"form": form}, status=400)
    user = account.users.get(pk=int(form.cleaned_data["user"]))
    try:
        services.connected_user_map(
            actor=actor,
            connection=connection,
            user=user,
            crm_username=form.cleaned_data["crm_username"],
            password=form.cleaned_data.get("password", ""),
            security_token=form.cleaned_data.get("security_token", ""),
        )
    except ConnectError as error:
        _refused(form, error)
        return _page(request, "map.html", {"form": form}, status=400)
    messages.success(request, f"{user.get_username()} is connected to the CRM.")
    return redirect(INDEX)


@administrator_required
def upgrade(request: HttpRequest) -> HttpResponse:
    """Upgrade to Connected App: what happens, and Connect Account."""
    _actor, account = _account(request)
    connection = _connection(account)
    if connection.state == ConnectionState.CONNECTED_APP:
        return redirect(INDEX)
    return _page(request, "upgrade.html", {"connection": connection})


@administrator_required
def acknowledge(request: HttpRequest) -> HttpResponse:
    """The acknowledgement screen; continuing enters `upgrading` and goes to the CRM."""
    actor, account = _account(request)
    connection = _connection(account)
    if connection.state == ConnectionState.CONNECTED_APP:
        return redirect(INDEX)
    form = forms.AcknowledgeForm(request.POST if request.method == "POST" else None)
    context = {
        "connection": connection,
        "form": form,
        "outages": selectors.outage_list(account=account),
    }
    if request.method != "POST" or not form.is_valid():
        return _page(
            request, "acknowledge.html", context, status=400 if request.method == "POST" else 200
        )
    try:
        url = services.upgrade_begin(
            actor=actor, connection=connection, log_in_again=form.cleaned_data["log_in_again"]
        )
    except ConnectError as error:
        form.add_error(None, error.message)
        return _page(request, "acknowledge.html", context, status=400)
    return HttpResponseRedirect(url)


@account_member_required
@require_POST
def user_connect(request: HttpRequest) -> HttpResponse:
    """Connect: the signed-in user logs in to the CRM as themself (web-server flow, PKCE)."""
    actor, account = _account(request)
    try:
        url, pending = user_connection_begin(actor=actor, connection=_connection(account))
    except ConnectError as error:
        messages.error(request, error.message)
        return redirect(INDEX)
    request.session[PENDING_KEY] = pending.as_session()
    return HttpResponseRedirect(url)


@account_member_required
def callback(request: HttpRequest) -> HttpResponse:
    """Back from the CRM: a user's own connection, or the upgrade's system user."""
    actor, account = _account(request)
    connection = _connection(account)
    pending = PendingUserConnection.from_session(request.session.get(PENDING_KEY))
    ours = pending is not None and pending.state == request.GET.get("state", "")
    if ours or not actor.is_account_admin or connection.state != ConnectionState.UPGRADING:
        return _user_callback(request, actor, connection, pending)
    return _upgrade_callback(request, actor, connection)


def _user_callback(
    request: HttpRequest,
    actor: User,
    connection: CrmConnection,
    pending: PendingUserConnection | None,
) -> HttpResponse:
    request.session.pop(PENDING_KEY, None)  # one answer per flow: a replay finds nothing
    error = request.GET.get("error", "")
    described = ": ".join(filter(None, [error, request.GET.get("error_description", "")]))
    return _act(
        request,
        lambda: user_connection_complete(
            actor=actor,
            connection=connection,
            pending=pending,
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            error=described,
        ),
        success=lambda mapping: f"You are connected to the CRM as {mapping.crm_username}.",
    )


def _upgrade_callback(request: HttpRequest, actor: User, connection: CrmConnection) -> HttpResponse:
    try:
        services.upgrade_callback(
            actor=actor,
            connection=connection,
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            error=" ".join(
                filter(
                    None, [request.GET.get("error", ""), request.GET.get("error_description", "")]
                )
            ),
        )
    except UpgradeIdentityError as error:
        connection.refresh_from_db()
        return _page(
            request, "mismatch.html", {"connection": connection, "error": error}, status=409
        )
    except ConnectError as error:
        return _page(
            request, "mismatch.html", {"connection": connection, "error": error}, status=400
        )
    return redirect("engagement_connect:complete")


@administrator_required
@require_POST
def accept_user(request: HttpRequest) -> HttpResponse:
    """Accept the CRM user that was connected as the new system user."""
    actor, account = _account(request)
    return _act(
        request,
        lambda: services.upgrade_identity_accept(actor=actor, connection=_connection(account)),
        to="engagement_connect:complete",
    )


@administrator_required
def complete(request: HttpRequest) -> HttpResponse:
    """Migrate Existing Users and Connect."""
    actor, account = _account(request)
    connection = _connection(account)
    if connection.state != ConnectionState.UPGRADING or not connection.verified_identity:
        return redirect(INDEX)
    form = forms.CompleteForm(request.POST if request.method == "POST" else None)
    legacy_users = selectors.connected_user_list(account=account).filter(was_legacy=True)
    context = {"connection": connection, "form": form, "legacy_users": legacy_users}
    if request.method != "POST" or not form.is_valid():
        return _page(request, "complete.html", context)
    try:
        services.upgrade_complete(actor=actor, connection=connection, **form.cleaned_data)
    except ConnectError as error:
        form.add_error(None, error.message)
        return _page(request, "complete.html", context, status=400)
    run = MigrationRun.objects.filter(account=account).first()
    shown = run.pk if run and form.cleaned_data["migrate_users"] else None
    return redirect(reverse(INDEX) + (f"?run={shown}" if shown else ""))


@administrator_required
@require_POST
def migrate(request: HttpRequest) -> HttpResponse:
    """Migrate Existing Users again (users not reconnected yet): the worker runs it, the page
    shows its progress (a run already under way is shown, not started twice)."""
    actor, account = _account(request)
    return _act(
        request,
        lambda: services.migration_start(actor=actor, connection=_connection(account)),
        to=lambda run: reverse(INDEX) + f"?run={run.pk}",
    )


@administrator_required
def migrate_progress(request: HttpRequest, run_id: int) -> JsonResponse:
    """How far the run is, for the progress dialog's poll (another account's run: 404)."""
    _actor, account = _account(request)
    run = selectors.migration_run_get(account=account, run_id=run_id)
    if run is None:
        raise Http404("No such migration run.")
    return JsonResponse(selectors.migration_progress(run=run))


@administrator_required
@require_POST
def outage(request: HttpRequest) -> HttpResponse:
    """Schedule Outage."""
    actor, account = _account(request)
    form = forms.OutageForm(request.POST)
    if form.is_valid():
        try:
            services.outage_schedule(
                actor=actor,
                account=account,
                starts_at=form.cleaned_data["starts_at"],
                hours=form.cleaned_data["duration"],
            )
        except ConnectError as error:
            _refused(form, error)
    if form.errors:
        return _page(request, "outage.html", {"form": form}, status=400)
    messages.success(request, "Outage scheduled.")
    return redirect(INDEX)


@administrator_required
@require_POST
def options(request: HttpRequest) -> HttpResponse:
    """The hold-instead-of-fail option."""
    actor, account = _account(request)
    form = forms.OptionsForm(request.POST)
    form.is_valid()
    services.connection_options_update(
        actor=actor,
        connection=_connection(account),
        hold_crm_sends=bool(form.cleaned_data.get("hold_crm_sends")),
    )
    messages.success(request, "Options saved.")
    return redirect(INDEX)


@administrator_required
@require_POST
def test_email(request: HttpRequest) -> HttpResponse:
    """Send Test Email through Connect to the admin's own CRM address."""
    actor, account = _account(request)
    connection = _connection(account)
    form = forms.TestEmailForm(request.POST, account_id=account.pk)
    if not form.is_valid():
        messages.error(request, "Choose an email of this account.")
        return redirect(INDEX)
    return _act(
        request,
        lambda: connect_test_email_send(
            actor=actor, connection=connection, email=form.cleaned_data["email"]
        ),
        success=lambda result: (
            f"Test email sent to {result.address}; tracking {result.tracking_id} "
            "written to the CRM."
        ),
    )


@administrator_required
def preflight(request: HttpRequest) -> HttpResponse:
    """Will auto-connection succeed for each user? (Tries the JWT bearer flow; changes nothing.)"""
    _actor, account = _account(request)
    rows = selectors.preflight(connection=_connection(account))
    return _page(request, "preflight.html", {"rows": rows})


@administrator_required
@require_POST
def rollback(request: HttpRequest) -> HttpResponse:
    """Back to legacy authentication while the legacy credentials are still held."""
    actor, account = _account(request)
    return _act(
        request,
        lambda: services.upgrade_rollback(actor=actor, connection=_connection(account)),
        success="The account is back on legacy authentication.",
    )


@administrator_required
@require_POST
def erase_legacy(request: HttpRequest) -> HttpResponse:
    """Erase the legacy passwords now."""
    actor, account = _account(request)
    return _act(
        request,
        lambda: services.legacy_credentials_erase(actor=actor, connection=_connection(account)),
        success="The legacy CRM passwords are erased.",
    )
