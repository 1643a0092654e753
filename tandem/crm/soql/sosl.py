"""SOSL: the search term's own small grammar, and a search bound into one query per object.

`FIND {term} IN <scope> FIELDS RETURNING …` is parsed by the SOQL grammar's `sosl` start
(`parser.parse_search`). The term (`ann* OR "joe smith" AND NOT bob`) is parsed here: words and
quoted phrases, `*` (any run) and `?` (one character) as wildcards, `\\` escaping the next
character, AND (also implied between terms), OR, NOT and parentheses. A term matches a record
when one of the object's fields in scope contains it, case-insensitively. Each RETURNING
object becomes an ordinary bound SOQL query whose WHERE is `(term) AND (its own WHERE)`, so the
ORM, org scoping and JSON building are the query path's own.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from functools import lru_cache

from lark import Lark, Token, Transformer
from lark.exceptions import LarkError

from tandem.crm.soql import ast
from tandem.crm.soql.bind import (
    Atom,
    BoolOp,
    BoundCondition,
    BoundField,
    BoundQuery,
    LikePattern,
    Negation,
    bind,
    search_text,
)
from tandem.crm.soql.errors import SoqlError, located
from tandem.crm.soql.parser import parse, parse_search
from tandem.crm.soql.schema import FieldDescribe, FieldType, ObjectDescribe, Registry

MAX_LIMIT = 2000
MAX_TERM_LENGTH = 10_000
MAX_TERMS = 100
NAME_FIELDS = frozenset({"Name", "FirstName", "LastName"})
SCOPE_TYPES = {
    "ALL": frozenset(
        {FieldType.STRING, FieldType.EMAIL, FieldType.PHONE, FieldType.TEXTAREA, FieldType.URL}
    ),
    "EMAIL": frozenset({FieldType.EMAIL}),
    "PHONE": frozenset({FieldType.PHONE}),
}

_TERM_GRAMMAR = r"""
?start: disjunction
?disjunction: conjunction (_OR conjunction)*
?conjunction: unary (_AND? unary)*
?unary: _NOT unary       -> negation
      | "(" disjunction ")"
      | PHRASE           -> phrase
      | WORD             -> word

_OR.2: /OR(?=[\s()]|$)/i
_AND.2: /AND(?=[\s()]|$)/i
_NOT.2: /NOT(?=[\s()]|$)/i
PHRASE: /"(\\.|[^"\\])*"/
WORD: /(\\.|[^\s()"\\])+/

%import common.WS
%ignore WS
"""


@dataclass(frozen=True)
class Term:
    """A word or phrase: literal runs and wildcards, as in `LikePattern` ("=text", "%", "_")."""

    parts: tuple[str, ...]


@dataclass(frozen=True)
class TermOp:
    operator: str  # AND, OR, NOT
    items: tuple[TermNode, ...]


TermNode = Term | TermOp


def _pattern(text: str) -> Term:
    """`ann*` → ("= ann", "%"): tokens as `search_text` spells them (separators as spaces, a
    space before and after unless a wildcard stands there); a backslash makes the next
    character literal."""
    parts: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            kind = "=" + search_text(next(chars, ""))[1:-1]
        else:
            kind = {"*": "%", "?": "_"}.get(char) or "=" + search_text(char)[1:-1]
        if kind.startswith("=") and parts and parts[-1].startswith("="):
            parts[-1] += kind[1:]
        elif kind != "=":
            parts.append(kind)
    return Term(tuple(parts))


def _bounded(term: Term) -> LikePattern:
    """The LIKE pattern of a term over `search_text`: whole tokens, anywhere in the field."""
    parts = list(term.parts)
    parts[0] = "= " + parts[0][1:] if parts[0].startswith("=") else parts[0]
    parts[-1] = parts[-1] + " " if parts[-1].startswith("=") else parts[-1]
    return LikePattern(("%", *parts, "%"))


class _BuildTerm(Transformer[Token, TermNode]):
    def word(self, children: list[Token]) -> Term:
        return _pattern(str(children[0]))

    def phrase(self, children: list[Token]) -> Term:
        return _pattern(str(children[0])[1:-1])

    def negation(self, children: list[TermNode]) -> TermOp:
        return TermOp("NOT", (children[-1],))

    def conjunction(self, children: list[TermNode]) -> TermOp:
        return TermOp("AND", tuple(children))

    def disjunction(self, children: list[TermNode]) -> TermOp:
        return TermOp("OR", tuple(children))


@lru_cache(maxsize=1)
def _term_parser() -> Lark:
    return Lark(_TERM_GRAMMAR, parser="lalr", transformer=_BuildTerm())


def _term_error(search: ast.Search, text: str) -> SoqlError:
    position = search.term_position
    return SoqlError("MALFORMED_SEARCH", located(search.text, position.line, position.column, text))


def parse_term(search: ast.Search) -> TermNode:
    """The search term's tree; each word or phrase needs two characters besides wildcards."""
    if len(search.term) > MAX_TERM_LENGTH or not search.term.strip():
        raise _term_error(search, "search term must be longer than one character")
    try:
        tree: TermNode = _term_parser().parse(search.term)  # type: ignore[assignment]
    except LarkError:
        raise _term_error(search, f"Invalid search term: {search.term}") from None
    terms = _terms(tree)
    if any(_literal_length(term) < 2 for term in terms):
        raise _term_error(search, "search term must be longer than one character")
    if len(terms) > MAX_TERMS:  # each is a test on every searched field
        raise _term_error(search, f"A search may have at most {MAX_TERMS} words and phrases")
    return tree


def _terms(node: TermNode) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    return [t for item in node.items for t in _terms(item)]


def _literal_length(term: Term) -> int:
    return sum(len(p[1:].replace(" ", "")) for p in term.parts if p.startswith("="))


# --- binding -------------------------------------------------------------------------------


def searched_fields(sobject: ObjectDescribe, scope: str) -> list[FieldDescribe]:
    """The fields a term is looked for in: text fields for ALL, names, emails or phones."""
    if scope == "NAME":
        return [f for f in sobject.fields if f.name in NAME_FIELDS]
    types = SCOPE_TYPES.get(scope, SCOPE_TYPES["ALL"])
    return [f for f in sobject.fields if f.type in types]


def _match(node: TermNode, fields: list[FieldDescribe]) -> BoundCondition:
    if isinstance(node, TermOp):
        if node.operator == "NOT":
            return Negation(_match(node.items[0], fields))
        return BoolOp(node.operator, tuple(_match(item, fields) for item in node.items))
    pattern = _bounded(node)
    atoms = tuple(Atom(BoundField((f.name,), f, None, None), "SEARCH", pattern) for f in fields)
    return BoolOp("OR", atoms)


def _spec(search: ast.Search, item: ast.SearchObject) -> ast.Query:
    id_field = ast.FieldPath(("Id",), item.position)
    return ast.Query(
        fields=item.fields or (id_field,),
        is_count=False,
        sobject=item.sobject,
        sobject_position=item.position,
        where=item.where,
        order_by=item.order_by,
        limit=item.limit,
        offset=item.offset,
        text=search.text,
    )


def _every_object(search: ast.Search, registry: Registry) -> tuple[ast.SearchObject, ...]:
    position = search.term_position
    return tuple(
        ast.SearchObject(o.name, position, (), None, (), None, None)
        for o in registry.all()
        if o.searchable
    )


def bind_search(search: ast.Search, registry: Registry, *, today: dt.date) -> list[BoundQuery]:
    """One bound query per RETURNING object (each searchable object when none is named)."""
    term = parse_term(search)
    out: list[BoundQuery] = []
    for item in search.objects or _every_object(search, registry):
        query = bind(_spec(search, item), registry, today=today)
        if not query.sobject.searchable:
            raise _not_searchable(search, item, query.sobject)
        fields = searched_fields(query.sobject, search.scope)
        if not fields:
            continue
        match = _match(term, fields)
        where = match if query.where is None else BoolOp("AND", (match, query.where))
        out.append(replace(query, where=where))
    return out


def _not_searchable(
    search: ast.Search, item: ast.SearchObject, sobject: ObjectDescribe
) -> SoqlError:
    text = f"entity type {sobject.name} does not support search"
    return SoqlError(
        "INVALID_TYPE", located(search.text, item.position.line, item.position.column, text)
    )


def search_limit(search: ast.Search) -> int:
    """The overall LIMIT: at most 2,000 records across every object."""
    return min(search.limit if search.limit is not None else MAX_LIMIT, MAX_LIMIT)


def parse_and_bind(
    text: str, registry: Registry, *, today: dt.date
) -> tuple[list[BoundQuery], int]:
    """`text` parsed and bound: (the bound queries, the overall limit)."""
    search = parse_search(text)
    return bind_search(search, registry, today=today), search_limit(search)


# --- parameterizedSearch -------------------------------------------------------------------

_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$")
_START = ast.Position(1, 1)


@dataclass(frozen=True)
class SearchSpec:
    """One object of a parameterizedSearch: its fields, limit and WHERE text, as sent."""

    name: str
    fields: tuple[str, ...] = ()
    limit: int | None = None
    where: str | None = None


def _field_path(name: str) -> ast.FieldPath:
    if not _FIELD_NAME.match(name):
        raise SoqlError("INVALID_FIELD", f"No such column '{name}'")
    return ast.FieldPath(tuple(name.split(".")), _START)


def _where(spec: SearchSpec) -> ast.Condition | None:
    if not spec.where:
        return None
    if not _FIELD_NAME.match(spec.name):
        raise SoqlError("INVALID_TYPE", f"sObject type '{spec.name}' is not supported.")
    # SOQL text, parsed like any query: its values never reach SQL as text.
    return parse(f"SELECT Id FROM {spec.name} WHERE {spec.where}").where  # noqa: S608


def parameterized(
    term: str, *, scope: str, specs: list[SearchSpec], limit: int | None
) -> ast.Search:
    """The SOSL statement a parameterizedSearch stands for (`term` has the term grammar)."""
    if "\x00" in term:
        raise SoqlError("MALFORMED_SEARCH", "A search must not contain a NUL character")
    objects = tuple(
        ast.SearchObject(
            sobject=spec.name,
            position=_START,
            fields=tuple(_field_path(f) for f in spec.fields),
            where=_where(spec),
            order_by=(),
            limit=spec.limit,
            offset=None,
        )
        for spec in specs
    )
    if scope.upper() not in ("ALL", "NAME", "EMAIL", "PHONE", "SIDEBAR"):
        raise SoqlError("INVALID_SEARCH_SCOPE", f"Invalid search scope: {scope}")
    return ast.Search(
        term=term,
        term_position=_START,
        scope=scope.upper(),
        objects=objects,
        limit=limit,
        text=term,
    )
