"""Email Studio pages: the overview and the emails."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from tandem.engagement.accounts.access import account_member_required, member_of
from tandem.engagement.data import selectors as data_selectors
from tandem.engagement.studio import selectors, services
from tandem.engagement.studio.forms import EmailForm, PreviewForm
from tandem.engagement.studio.models import Email


@account_member_required
def studio_home(request: HttpRequest) -> HttpResponse:
    """Email Studio's overview, below the top navigation."""
    return render(request, "engagement/studio/home.html")


def _email_or_404(request: HttpRequest, email_id: int) -> Email:
    found = selectors.email_get_for_actor(actor=member_of(request), email_id=email_id)
    if found is None:
        raise Http404("No such email.")
    return found


@account_member_required
def email_list(request: HttpRequest) -> HttpResponse:
    """Content > Emails: the account's emails."""
    emails = selectors.email_list(actor=member_of(request))
    return render(request, "engagement/emails/list.html", {"emails": emails})


@account_member_required
def email_edit(request: HttpRequest, email_id: int | None = None) -> HttpResponse:
    """Create an email (no email_id) or edit one."""
    email = _email_or_404(request, email_id) if email_id is not None else None
    posted = request.POST if request.method == "POST" else None
    form = EmailForm(posted, instance=email)
    if posted is not None and form.is_valid():
        actor = member_of(request)
        try:
            if email is None:
                email = services.email_create(actor=actor, **form.cleaned_data)
            else:
                email = services.email_update(actor=actor, email=email, **form.cleaned_data)
        except services.EmailError as exc:
            form.add_error(exc.field, str(exc))
        else:
            messages.success(request, f"Email {email.name} saved.")
            return redirect("engagement_studio:email_preview", email_id=email.pk)
    return render(request, "engagement/emails/edit.html", {"form": form, "email": email})


@account_member_required
def email_preview(request: HttpRequest, email_id: int) -> HttpResponse:
    """The email as a chosen recipient (a row of a data extension) would receive it."""
    email = _email_or_404(request, email_id)
    actor = member_of(request)
    choices = [(de.pk, de.name) for de in data_selectors.data_extension_list(actor=actor)]
    form = PreviewForm(request.GET or None, choices=choices)
    preview, problem = None, ""
    if form.is_bound and form.is_valid():
        data_extension = data_selectors.data_extension_get_for_actor(
            actor=actor, data_extension_id=form.cleaned_data["data_extension"]
        )
        assert data_extension is not None  # the choices hold only the actor's own
        row = data_selectors.row_get_by_key(
            data_extension=data_extension, key=form.cleaned_data["key"].strip()
        )
        if row is None:
            problem = "No row of that data extension has this subscriber key."
            form.add_error("key", problem)
        else:
            preview = services.email_preview(email=email, data_extension=data_extension, row=row)
    context = {"email": email, "form": form, "preview": preview, "has_choices": bool(choices)}
    return render(request, "engagement/emails/preview.html", context)
