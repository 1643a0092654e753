"""A SOQL subset: parse, validate against describe metadata, run on the ORM or on dicts."""

from tandem.crm.api.soql.errors import SoqlError
from tandem.crm.api.soql.parser import parse

__all__ = ["SoqlError", "parse"]
