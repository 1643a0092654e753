"""Orgs: creation (with the standard profiles), settings and Network Access."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction

from tandem.crm.orgs.errors import OrgInvalidError
from tandem.crm.orgs.models import IpRange, Org, TrustedIpRange, my_domain_validator
from tandem.crm.setup.services import setup_audit_record
from tandem.crm.users.models import Profile, ProfileName, User

SECTION = "Security"


def _org_errors(name: str, my_domain: str | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["Enter the org's name."]
    elif len(name.strip()) > 80:
        errors["name"] = ["Use at most 80 characters."]
    if my_domain:
        try:
            my_domain_validator(my_domain)
        except ValidationError as exc:
            errors["my_domain"] = list(exc.messages)
        else:
            if Org.objects.filter(my_domain=my_domain).exists():
                errors["my_domain"] = ["Another org already uses this My Domain."]
    return errors


@transaction.atomic
def org_create(*, name: str, my_domain: str | None = None, actor: User | None = None) -> Org:
    """Create an org with the System Administrator, Standard User and Marketing User profiles."""
    my_domain = (my_domain or "").strip().lower() or None
    errors = _org_errors(name, my_domain)
    if errors:
        raise OrgInvalidError(errors)
    org = Org.objects.create(name=name.strip(), my_domain=my_domain)
    for profile_name in ProfileName.ALL:
        Profile.objects.create(
            org=org,
            name=profile_name,
            modify_all_data=profile_name == ProfileName.SYSTEM_ADMINISTRATOR,
            bulk_api_hard_delete=profile_name == ProfileName.SYSTEM_ADMINISTRATOR,
        )
    setup_audit_record(
        org=org,
        actor=actor,
        action="org.created",
        section="Company Settings",
        target=org.name,
        new={"name": org.name, "my_domain": my_domain},
    )
    return org


@transaction.atomic
def org_create_with_settings(
    *, name: str, my_domain: str | None = None, allow_username_password_flows: bool = False
) -> Org:
    """`tandem crm org create`: a new org and, when asked, its OAuth setting in one go."""
    org = org_create(name=name, my_domain=my_domain)
    if allow_username_password_flows:
        org_settings_update(
            actor=None,
            org=org,
            section="OAuth and OpenID Connect Settings",
            changes={"allow_username_password_flows": True},
        )
    return org


@dataclass(frozen=True)
class IpRangeKind:
    """One kind of range: its Setup section, the audit actions' prefix, and how a refusal is
    raised in its app's dialect (each takes a dict of field errors)."""

    section: str
    action: str
    invalid: Callable[[dict[str, list[str]]], Exception]


NETWORK_ACCESS = IpRangeKind(SECTION, "network_access.range", OrgInvalidError)
R = TypeVar("R", bound=IpRange)


@transaction.atomic
def ip_range_add(*, actor: User | None, org: Org, row: R, kind: IpRangeKind, target: str = "") -> R:
    """Check, save and audit a new range of any kind (Network Access, a profile's login IP
    range, a connected app's trusted range); the row's model says which addresses it takes."""
    row.normalize()
    errors = row.range_errors()
    if errors:
        raise kind.invalid({field: [message] for field, message in errors.items()})
    row.save()
    setup_audit_record(
        org=org,
        actor=actor,
        action=f"{kind.action}_added",
        section=kind.section,
        target=target or str(row),
        new=row.snapshot(),
    )
    return row


@transaction.atomic
def ip_range_delete(
    *, actor: User | None, org: Org, row: IpRange, kind: IpRangeKind, target: str = ""
) -> None:
    """Remove and audit a range the caller has checked belongs to `org`."""
    old, target = row.snapshot(), target or str(row)
    row.delete()
    setup_audit_record(
        org=org,
        actor=actor,
        action=f"{kind.action}_deleted",
        section=kind.section,
        target=target,
        old=old,
    )


def trusted_ip_range_add(
    *, actor: User | None, org: Org, start_address: str, end_address: str, description: str = ""
) -> TrustedIpRange:
    """Add a Network Access range (IPv4, start ≤ end, at most a /7) and audit it."""
    row = TrustedIpRange(
        org=org, start_address=start_address, end_address=end_address, description=description
    )
    return ip_range_add(actor=actor, org=org, row=row, kind=NETWORK_ACCESS)


def trusted_ip_range_delete(*, actor: User, row: TrustedIpRange) -> None:
    """Remove a Network Access range of the actor's org and audit it."""
    if row.org_id != actor.org_id:
        raise OrgInvalidError({"range": ["No such range in this org."]})
    ip_range_delete(actor=actor, org=actor.org, row=row, kind=NETWORK_ACCESS)


ORG_SETTINGS = (
    "session_timeout_minutes",
    "enforce_ip_ranges_every_request",
    "allow_username_password_flows",
)
SESSION_TIMEOUT_RANGE = (15, 24 * 60)


def _settings_snapshot(org: Org) -> dict[str, object]:
    return {name: getattr(org, name) for name in ORG_SETTINGS}


@transaction.atomic
def org_settings_update(
    *, actor: User | None, org: Org, section: str, changes: dict[str, object]
) -> Org:
    """Change session or OAuth settings of `org`; refuses unknown or out-of-range values."""
    unknown = sorted(set(changes) - set(ORG_SETTINGS))
    if unknown:
        raise OrgInvalidError({name: ["This setting does not exist."] for name in unknown})
    timeout = changes.get("session_timeout_minutes", org.session_timeout_minutes)
    low, high = SESSION_TIMEOUT_RANGE
    if not isinstance(timeout, int) or not low <= timeout <= high:
        raise OrgInvalidError(
            {"session_timeout_minutes": [f"Choose from {low} to {high} minutes."]}
        )
    old = _settings_snapshot(org)
    for name, value in changes.items():
        setattr(org, name, value)
    org.save(update_fields=list(changes))
    new = _settings_snapshot(org)
    changed_old = {k: v for k, v in old.items() if new[k] != v}
    if changed_old:
        setup_audit_record(
            org=org,
            actor=actor,
            action="org.settings_changed",
            section=section,
            target=org.name,
            old=changed_old,
            new={k: new[k] for k in changed_old},
        )
    return org
