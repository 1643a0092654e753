"""CSV export of a data extension: the header row, then every row in field order."""

from __future__ import annotations

from collections.abc import Iterator

from tandem.engagement.data.models import DataExtension


def data_extension_export(*, data_extension: DataExtension) -> Iterator[list[str]]:
    """CSV records of the data extension, header first; streamed, never all in memory."""
    names = list(data_extension.fields.order_by("ordinal", "id").values_list("name", flat=True))
    yield names
    rows = data_extension.rows.order_by("id").values_list("values", flat=True)
    for values in rows.iterator(chunk_size=2_000):
        yield [str(values.get(name, "")) for name in names]
