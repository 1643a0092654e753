"""Interactions (sends) and Tracking pages of Email Studio."""

from __future__ import annotations

from dataclasses import asdict

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tandem.engagement.accounts.access import account_member_required, member_of
from tandem.engagement.sends import selectors, services
from tandem.engagement.sends.audiences import crm_audiences_available
from tandem.engagement.sends.errors import SendError, SendNotFoundError
from tandem.engagement.sends.forms import ScheduleForm, SendForm, SendTestForm, TestSendForm
from tandem.engagement.sends.models import AudienceKind, Send, SendStatus


def _send_or_404(request: HttpRequest, send_id: int) -> Send:
    try:
        return selectors.send_get_for_actor(actor=member_of(request), send_id=send_id)
    except SendNotFoundError as exc:
        raise Http404("No such send.") from exc


def _form_error(
    form: SendForm | ScheduleForm | TestSendForm | SendTestForm, exc: SendError
) -> None:
    if isinstance(form, SendForm):
        form.add_error(form.error_field(exc.field), exc.message)
        return
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


@account_member_required
def send_list(request: HttpRequest) -> HttpResponse:
    """Every send of the account, newest first."""
    sends = selectors.send_list(actor=member_of(request)).filter(is_test=False)
    rows = [(send, selectors.send_progress(send=send)) for send in sends[:200]]
    return render(request, "engagement/sends/list.html", {"rows": rows})


@account_member_required
def send_new(request: HttpRequest) -> HttpResponse:
    """Create a draft send to a data extension or, with Connect set up, to a CRM audience."""
    actor = member_of(request)
    crm_available = crm_audiences_available(account_id=actor.account_id or 0)
    form = SendForm(request.POST or None, actor=actor, crm_available=crm_available)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        to_data_extension = data["audience_kind"] == AudienceKind.DATA_EXTENSION
        try:
            send = services.send_create(
                actor=actor,
                account=actor.account,  # type: ignore[arg-type]
                name=data["name"],
                email=data["email"],
                data_extension=data["data_extension"] if to_data_extension else None,
                audience_kind=data["audience_kind"],
                audience_ref=data["audience_ref"],
                max_per_second=data["max_per_second"],
            )
        except SendError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Send {send.name!r} created.")
            return redirect("engagement_sends:detail", send_id=send.id)
    return render(request, "engagement/sends/new.html", {"form": form})


@account_member_required
def send_detail(request: HttpRequest, send_id: int) -> HttpResponse:
    """A send's state, live progress, problems and history."""
    send = _send_or_404(request, send_id)
    return render(request, "engagement/sends/detail.html", _detail_context(send))


def _detail_context(send: Send, **forms: object) -> dict[str, object]:
    return {
        "send": send,
        "progress": selectors.send_progress(send=send),
        "problems": selectors.send_problem_records(send=send),
        "events": selectors.send_events(send=send),
        "schedule_form": ScheduleForm(),
        "test_form": SendTestForm(data_extension=send.data_extension),
        "statuses": SendStatus,
        **forms,
    }


@account_member_required
def send_progress(request: HttpRequest, send_id: int) -> JsonResponse:
    """Progress as JSON, polled by the detail page."""
    send = _send_or_404(request, send_id)
    progress = selectors.send_progress(send=send)
    return JsonResponse(
        {
            **asdict(progress),
            "remaining": progress.remaining,
            "percent": progress.percent,
            "status": send.status,
            "status_label": send.get_status_display(),
            "failure_reason": send.failure_reason,
            "is_final": send.is_final,
        }
    )


@require_POST
@account_member_required
def send_schedule(request: HttpRequest, send_id: int) -> HttpResponse:
    """Start now, or schedule for later."""
    send = _send_or_404(request, send_id)
    form = ScheduleForm(request.POST)
    if form.is_valid():
        try:
            services.send_schedule(
                actor=member_of(request), send=send, at=form.cleaned_data["scheduled_at"]
            )
        except SendError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "The send is scheduled.")
            return redirect("engagement_sends:detail", send_id=send.id)
    context = _detail_context(send, schedule_form=form)
    return render(request, "engagement/sends/detail.html", context, status=400)


def _action(request: HttpRequest, send_id: int, verb: str) -> HttpResponse:
    send = _send_or_404(request, send_id)
    action = {
        "pause": services.send_pause,
        "resume": services.send_resume,
        "cancel": services.send_cancel,
    }[verb]
    try:
        action(actor=member_of(request), send=send)
    except SendError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"The send is {verb}d." if verb != "cancel" else "The send is cancelled."
        )
    return redirect("engagement_sends:detail", send_id=send.id)


@require_POST
@account_member_required
def send_pause(request: HttpRequest, send_id: int) -> HttpResponse:
    """Pause a running send."""
    return _action(request, send_id, "pause")


@require_POST
@account_member_required
def send_resume(request: HttpRequest, send_id: int) -> HttpResponse:
    """Resume a paused send."""
    return _action(request, send_id, "resume")


@require_POST
@account_member_required
def send_cancel(request: HttpRequest, send_id: int) -> HttpResponse:
    """Cancel a send for good."""
    return _action(request, send_id, "cancel")


@account_member_required
def send_test(request: HttpRequest) -> HttpResponse:
    """Send an email to up to five addresses, marked as a test."""
    actor = member_of(request)
    form = TestSendForm(request.POST or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        try:
            addresses = services.parse_addresses(form.cleaned_data["addresses"])
            send = services.send_test(
                actor=actor, email=form.cleaned_data["email"], addresses=addresses
            )
        except SendError as exc:
            _form_error(form, exc)
        else:
            progress = selectors.send_progress(send=send)
            text = f"Test send: {progress.sent} of {progress.total} accepted by the mail server."
            (messages.success if progress.sent == progress.total else messages.error)(request, text)
            return redirect("engagement_sends:test")
    return render(request, "engagement/sends/test.html", {"form": form})


@require_POST
@account_member_required
def send_test_of_send(request: HttpRequest, send_id: int) -> HttpResponse:
    """Send this send's email to up to five addresses, personalized as a chosen audience row."""
    send = _send_or_404(request, send_id)
    form = SendTestForm(request.POST, data_extension=send.data_extension)
    if form.is_valid():
        try:
            addresses = services.parse_addresses(form.cleaned_data["addresses"])
            test = services.send_test_of_send(
                actor=member_of(request),
                send=send,
                addresses=addresses,
                row_key=form.cleaned_data["row"] or None,
            )
        except SendError as exc:
            _form_error(form, exc)
        else:
            progress = selectors.send_progress(send=test)
            text = f"Test send: {progress.sent} of {progress.total} accepted by the mail server."
            (messages.success if progress.sent == progress.total else messages.error)(request, text)
            return redirect("engagement_sends:detail", send_id=send.id)
    context = _detail_context(send, test_form=form)
    return render(request, "engagement/sends/detail.html", context, status=400)


@account_member_required
def tracking_list(request: HttpRequest) -> HttpResponse:
    """Opens, clicks and unsubscribes of every send that started."""
    sends = selectors.send_list(actor=member_of(request)).filter(
        is_test=False, started_at__isnull=False
    )
    rows = [(send, selectors.send_progress(send=send, tracking=True)) for send in sends[:200]]
    return render(request, "engagement/sends/tracking.html", {"rows": rows})
