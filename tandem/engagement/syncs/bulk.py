"""A copy of every record read by a Bulk query job (a first copy or a backfill of many records).

The rows must be the REST walk's, to the byte: otherwise the next incremental run, which reads
over REST, would see every row as changed. A Bulk result is CSV text, where the REST answer is
JSON that the sync turns into text (`run.text`). For the field types below the two texts are
the same but for dateTimes (`…Z` in CSV, `…+0000` in JSON), which are converted here; an empty
CSV value is "", as a JSON null becomes. Numbers with decimals (double, currency, percent) are
not: the CRM writes some of them differently in its JSON and its CSV (`1500` and `1500.0`, one
database or another), so an object copied with such a field walks over REST.

The job's SOQL has no ORDER BY: the CRM returns a query's records in Id order then (as its REST
query does, and with the same comparison as `WHERE Id > …`), so the last Id of each page is
where a copy that dies resumes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter

from tandem.engagement.connect import bulk
from tandem.engagement.connect.client import CrmError
from tandem.engagement.connect.models import CrmConnection
from tandem.engagement.syncs import crm
from tandem.engagement.syncs.models import SyncSource

DATETIME = "datetime"
# Field types whose Bulk CSV text is the sync's text of the REST JSON value (dateTimes once
# converted).
EXACT = frozenset(
    {
        "id",
        "reference",
        "string",
        "email",
        "phone",
        "picklist",
        "multipicklist",
        "combobox",
        "textarea",
        "url",
        "boolean",
        "int",
        DATETIME,
        "date",
    }
)


def bulk_kinds(connection: CrmConnection, source: SyncSource) -> dict[str, str] | None:
    """Each copied field's type (the object's describe), or None when a field's Bulk text
    could differ from its REST text (the copy then walks over REST)."""
    described = crm.fields(connection, source.object_name)
    kinds = {name: described[name].type if name in described else "" for name in source.fields}
    return kinds if all(kind in EXACT for kind in kinds.values()) else None


def rows_pages(
    connection: CrmConnection,
    source: SyncSource,
    soql: str,
    kinds: dict[str, str],
    total: int,
    keep: Callable[[], None] | None = None,
    keep_every: float = bulk.LAST_POLL,
) -> Iterator[list[tuple[str, ...]]]:
    """The job's pages as rows (Id, each field's text), each parsed as it arrives; `total`,
    the records the REST API counted (to time the job's polls); `keep`, called while the job
    runs (`keep_every` seconds apart at most) and as each page arrives (the run renews its
    lease)."""
    pages = bulk.bulk_query_pages(
        connection, soql, expected=total, keep=keep, keep_every=keep_every
    )
    for page in pages:
        header, lines = page.table()
        yield rows_of(header, lines, list(source.fields), kinds)


def rows_of(
    header: list[str], lines: Iterable[list[str]], names: list[str], kinds: dict[str, str]
) -> list[tuple[str, ...]]:
    """(Id, each of `names`) of every CSV line, dateTimes as the REST API writes them."""
    where = {name.lower(): index for index, name in enumerate(header)}
    missing = [name for name in ["Id", *names] if name.lower() not in where]
    if missing:
        raise CrmError("unknown_error", f"the CRM's Bulk results lack {', '.join(missing)}")
    pick = itemgetter(*(where[name.lower()] for name in ["Id", *names]))
    stamps = [where[name.lower()] for name in names if kinds.get(name) == DATETIME]
    try:
        if not stamps:
            return list(map(pick, lines))
        rows = []
        for line in lines:
            for index in stamps:
                value = line[index]
                if value.endswith("Z"):
                    line[index] = value[:-1] + "+0000"
            rows.append(pick(line))
        return rows
    except IndexError:
        raise CrmError("unknown_error", "the CRM's Bulk results have a short line") from None
