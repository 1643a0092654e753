"""Browser sessions of CRM users: start, check (expiry, revocation), list and end."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.contrib.auth import login, logout
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from tandem.crm.setup.services import setup_audit_record
from tandem.crm.users.models import LoginType, User, UserSession
from tandem.crm.users.policies import client_ip

# Marks a session recorded in UserSession: a recorded session without its row was ended.
RECORDED = "crm_session_recorded"
# Writing last_seen_at on every request would turn every page view into a write.
TOUCH_INTERVAL = timedelta(seconds=60)


def session_key_hash(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()


def user_session_start(
    *, request: HttpRequest, user: User, login_type: str = LoginType.APPLICATION
) -> UserSession:
    """Log `user` in on this request (a fresh session key) and record the session."""
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return _record(request, user, login_type)


def _record(request: HttpRequest, user: User, login_type: str) -> UserSession:
    request.session.set_expiry(user.org.session_timeout_minutes * 60)
    request.session[RECORDED] = True
    request.session.save()
    return UserSession.objects.create(
        user=user,
        session_key_hash=session_key_hash(request.session.session_key or ""),
        source_ip=client_ip(request) or None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:255],
        login_type=login_type,
    )


def user_session_end_current(*, request: HttpRequest) -> None:
    """Log out and forget this request's session."""
    key = request.session.session_key
    if key:
        UserSession.objects.filter(session_key_hash=session_key_hash(key)).delete()
    logout(request)


def session_is_expired(session: UserSession, timeout_minutes: int, now: datetime) -> bool:
    """Idle for longer than the org's timeout."""
    return now - session.last_seen_at > timedelta(minutes=timeout_minutes)


def user_session_check(*, request: HttpRequest, user: User, now: datetime | None = None) -> bool:
    """True when this request's session is still valid; refreshes its last-seen time."""
    moment = now or timezone.now()
    key = request.session.session_key or ""
    if not user.is_active or user.is_frozen or not user.org.is_active:
        return False
    session = UserSession.objects.filter(session_key_hash=session_key_hash(key), user=user).first()
    if session is None and not request.session.get(RECORDED):
        # Logged in by another path (Django's login(), a test client): adopt the session.
        _record(request, user, LoginType.APPLICATION)
        return True
    if session is None:
        return False
    if session_is_expired(session, user.org.session_timeout_minutes, moment):
        session.delete()
        return False
    if moment - session.last_seen_at > TOUCH_INTERVAL:
        UserSession.objects.filter(pk=session.pk).update(last_seen_at=moment)
        request.session.modified = True  # re-saving renews the session cookie's expiry too
    return True


@transaction.atomic
def user_session_end(*, actor: User, session: UserSession) -> None:
    """End another session of the actor's org (Setup → Users → Sessions); audited."""
    user = session.user
    if user.org_id != actor.org_id:
        raise PermissionError("That session belongs to another org.")
    session.delete()
    setup_audit_record(
        org=user.org,
        actor=actor,
        action="user.session_ended",
        section="Users",
        target=user.username,
        old={"created_at": session.created_at.isoformat(), "source_ip": session.source_ip},
    )


def current_session_hash(request: HttpRequest) -> str:
    """The hash under which this request's session is recorded."""
    return session_key_hash(request.session.session_key or "")


def user_session_end_own(*, user: User, session_id: int) -> bool:
    """End one of the user's own sessions (e.g. a forgotten browser); False if not theirs."""
    deleted, _ = UserSession.objects.filter(id=session_id, user=user).delete()
    return deleted > 0
