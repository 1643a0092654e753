"""Checks of a CRM audience a user names for a new send, before anything is saved.

The pages and the CLI call `crm_audience_clean` before `send_create`; Connect reads the
audience only when the send begins (docs/adr/0510). Ids are checked with the same `id18` as
Connect's reader (tandem.core.ids), so what passes here is what Connect can read.
"""

from __future__ import annotations

import re

from tandem.core.ids import KEY_PREFIXES, id18
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends.crm_gate import crm_gate
from tandem.engagement.sends.errors import SendInvalidError
from tandem.engagement.sends.models import CRM_AUDIENCE_KINDS, AudienceKind, Send

CONNECT_NEEDED = (
    "Sends to a report, campaign, contacts, leads or Salesforce data extension need "
    "Marketing Cloud Connect, which is not set up for this account."
)
# The key prefix and the noun of each kind whose reference is a CRM record Id.
ID_KINDS: dict[str, tuple[str, str]] = {
    AudienceKind.REPORT: (KEY_PREFIXES["report"], "report"),
    AudienceKind.CAMPAIGN: (KEY_PREFIXES["campaign"], "campaign"),
    AudienceKind.CONTACT: (KEY_PREFIXES["contact"], "contact"),
    AudienceKind.LEAD: (KEY_PREFIXES["lead"], "lead"),
}
LIST_KINDS = frozenset({AudienceKind.CONTACT, AudienceKind.LEAD})
SEPARATOR = ", "
MAX_REF = Send._meta.get_field("audience_ref").max_length or 255
MAX_IDS = (MAX_REF + len(SEPARATOR)) // (18 + len(SEPARATOR))


def crm_audiences_available(*, account_id: int) -> bool:
    """Whether the account has Marketing Cloud Connect set up (a CRM connection)."""
    return crm_gate().connected(account_id)


def crm_audience_clean(*, account_id: int, kind: str, ref: str) -> str:
    """The reference to save for a CRM audience: 18-character Ids, or an existing data
    extension's name; raises SendInvalidError beside `audience_kind` or `audience_ref`."""
    if kind not in CRM_AUDIENCE_KINDS:
        raise SendInvalidError("Choose an audience.", field="audience_kind")
    if not crm_audiences_available(account_id=account_id):
        raise SendInvalidError(CONNECT_NEEDED, field="audience_kind")
    ref = ref.strip()
    if kind == AudienceKind.SALESFORCE_DATA_EXTENSION:
        return _data_extension_name(account_id, ref)
    if kind == AudienceKind.SYNCHRONIZED_DATA_EXTENSION:
        return _synchronized_name(account_id, ref)
    prefix, noun = ID_KINDS[kind]
    if kind in LIST_KINDS:
        return SEPARATOR.join(_id_list(ref, prefix, noun))
    if not ref:
        raise SendInvalidError(f"Enter a {noun} Id.", field="audience_ref")
    return _record_id(ref, prefix, noun)


def _record_id(value: str, prefix: str, noun: str) -> str:
    try:
        full = id18(value)
    except ValueError:
        raise SendInvalidError(
            f"{value!r} is not a Salesforce Id (15 or 18 letters and digits).",
            field="audience_ref",
        ) from None
    if not full.startswith(prefix):
        raise SendInvalidError(
            f"{value!r} is not a {noun} Id: {noun} Ids start with {prefix}.", field="audience_ref"
        )
    return full


def _id_list(text: str, prefix: str, noun: str) -> list[str]:
    found = [_record_id(part, prefix, noun) for part in re.split(r"[\s,;]+", text) if part]
    unique = list(dict.fromkeys(found))
    if not unique:
        raise SendInvalidError(f"Enter at least one {noun} Id.", field="audience_ref")
    if len(unique) > MAX_IDS:
        raise SendInvalidError(
            f"At most {MAX_IDS} {noun} Ids fit in one send; send to a campaign or a report "
            "for more.",
            field="audience_ref",
        )
    return unique


def _data_extension_name(account_id: int, name: str) -> str:
    if not name:
        raise SendInvalidError("Enter the data extension's name.", field="audience_ref")
    if not DataExtension.objects.filter(account_id=account_id, name=name).exists():
        raise SendInvalidError(
            f"There is no data extension named {name!r} in this account.", field="audience_ref"
        )
    return name


def _synchronized_name(account_id: int, name: str) -> str:
    from tandem.engagement.syncs.models import FilteredDataExtension, SyncSource

    if not name:
        raise SendInvalidError("Enter the data extension's name.", field="audience_ref")
    filtered = FilteredDataExtension.objects.filter(account_id=account_id, name=name)
    synced = SyncSource.objects.filter(account_id=account_id, data_extension__name=name)
    if not filtered.exists() and not synced.exists():
        raise SendInvalidError(
            f"There is no synchronized or filtered data extension named {name!r}.",
            field="audience_ref",
        )
    return name
