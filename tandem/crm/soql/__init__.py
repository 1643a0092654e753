"""A SOQL subset: parse, validate against describe metadata, run on the ORM or on dicts."""

from tandem.crm.soql.errors import SoqlError
from tandem.crm.soql.parser import parse

__all__ = ["SoqlError", "parse"]
