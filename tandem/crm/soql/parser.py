"""Text → `ast.Query` with lark (LALR); every failure becomes a Salesforce MALFORMED_QUERY."""

from __future__ import annotations

import datetime as dt
import re
from contextvars import ContextVar
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

from tandem.crm.soql import ast
from tandem.crm.soql.errors import SoqlError, located

MAX_QUERY_LENGTH = 100_000
MAX_DEPTH = 50
# Largest n in LAST_N_DAYS:n and friends; keeps every date computation inside datetime's range.
MAX_DATE_N = 10_000

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}
# `\%` and `\_` mean a literal % or _ in a LIKE pattern: kept as private-use characters.
LITERAL_PERCENT = "\ue000"
LITERAL_UNDERSCORE = "\ue001"
_LIKE_ESCAPES = {"%": LITERAL_PERCENT, "_": LITERAL_UNDERSCORE}

_DATE_CONSTANTS: dict[str, tuple[str, int, int]] = {
    "TODAY": ("day", 0, 1),
    "YESTERDAY": ("day", -1, 1),
    "TOMORROW": ("day", 1, 1),
    "LAST_WEEK": ("week", -1, 1),
    "THIS_WEEK": ("week", 0, 1),
    "NEXT_WEEK": ("week", 1, 1),
    "LAST_MONTH": ("month", -1, 1),
    "THIS_MONTH": ("month", 0, 1),
    "NEXT_MONTH": ("month", 1, 1),
    "LAST_90_DAYS": ("day", -90, 91),
    "NEXT_90_DAYS": ("day", 1, 90),
    "LAST_YEAR": ("year", -1, 1),
    "THIS_YEAR": ("year", 0, 1),
    "NEXT_YEAR": ("year", 1, 1),
}
# The text being parsed, for error messages raised while LALR reduces.
_CURRENT_QUERY: ContextVar[str] = ContextVar("soql_query", default="")


def _position(token: Token) -> ast.Position:
    return ast.Position(line=token.line or 1, column=token.column or 1)


def unescape(body: str, query: str, token: Token) -> str:
    """Decode a SOQL string literal's backslash escapes; an unknown escape is an error."""
    out: list[str] = []
    chars = iter(body)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        following = next(chars, "")
        if following in _LIKE_ESCAPES:
            out.append(_LIKE_ESCAPES[following])
        elif following in _ESCAPES:
            out.append(_ESCAPES[following])
        else:
            message = "Invalid string literal '" + body + "'. Illegal character sequence '\\"
            raise SoqlError(
                "MALFORMED_QUERY",
                located(query, token.line or 1, token.column or 1, message + following + "'"),
            )
    return "".join(out)


def date_range(name: str) -> ast.DateRange:
    """The unit, start offset and length of a relative date literal."""
    upper = name.upper()
    if upper in _DATE_CONSTANTS:
        unit, start, length = _DATE_CONSTANTS[upper]
        return ast.DateRange(name=upper, unit=unit, start=start, length=length)  # type: ignore[arg-type]
    head, _, number = upper.partition(":")
    n = int(number)
    word = next(w for w in ("DAYS", "WEEKS", "MONTHS", "YEARS") if w in head)
    unit = {"DAYS": "day", "WEEKS": "week", "MONTHS": "month", "YEARS": "year"}[word]
    if head.startswith("LAST_"):
        start, length = (-n, n + 1) if unit == "day" else (-n, n)
    elif head.startswith("NEXT_"):
        start, length = 1, n
    else:
        start, length = -n, 1
    return ast.DateRange(name=upper, unit=unit, start=start, length=length)  # type: ignore[arg-type]


class _Build(Transformer[Token, Any]):
    """Bottom-up construction of the AST while LALR reduces (no recursion on deep input)."""

    @property
    def query(self) -> str:
        return _CURRENT_QUERY.get()

    def _fail(self, token: Token, text: str) -> SoqlError:
        return SoqlError(
            "MALFORMED_QUERY", located(self.query, token.line or 1, token.column or 1, text)
        )

    # --- values ---------------------------------------------------------------------------
    def string(self, children: list[Token]) -> ast.Value:
        (token,) = children
        text = unescape(token[1:-1], self.query, token)
        return ast.Value("string", text, str(token), _position(token))

    def number(self, children: list[Token]) -> ast.Value:
        (token,) = children
        try:
            number = Decimal(str(token))
        except InvalidOperation:
            raise self._fail(token, f"unexpected token: '{token}'") from None
        return ast.Value("number", number, str(token), _position(token))

    def date(self, children: list[Token]) -> ast.Value:
        (token,) = children
        try:
            day = dt.date.fromisoformat(str(token))
        except ValueError:
            raise self._fail(
                token,
                f"line {token.line}:{token.column} no viable alternative at character '{token}'",
            ) from None
        return ast.Value("date", day, str(token), _position(token))

    def datetime(self, children: list[Token]) -> ast.Value:
        (token,) = children
        text = str(token)
        normal = text[:-1] + "+00:00" if text.endswith("Z") else text
        if re.search(r"[+-]\d{4}$", normal):
            normal = normal[:-2] + ":" + normal[-2:]
        try:
            moment = dt.datetime.fromisoformat(normal)
        except ValueError:
            raise self._fail(
                token,
                f"line {token.line}:{token.column} no viable alternative at character '{token}'",
            ) from None
        return ast.Value("datetime", moment, text, _position(token))

    def date_const(self, children: list[Token]) -> ast.Value:
        (token,) = children
        return ast.Value("date_range", date_range(str(token)), str(token), _position(token))

    def date_n(self, children: list[Token]) -> ast.Value:
        (token,) = children
        number = int(str(token).partition(":")[2])
        if number > MAX_DATE_N:
            raise SoqlError(
                "NUMBER_OUTSIDE_VALID_RANGE",
                located(
                    self.query,
                    token.line or 1,
                    token.column or 1,
                    f"Invalid number {number} for date literal {str(token).upper()}",
                ),
            )
        return ast.Value("date_range", date_range(str(token)), str(token), _position(token))

    def null(self, children: list[Token]) -> ast.Value:
        return ast.Value("null", None, "null", _position(children[0]))

    def true(self, children: list[Token]) -> ast.Value:
        return ast.Value("boolean", True, "true", _position(children[0]))

    def false(self, children: list[Token]) -> ast.Value:
        return ast.Value("boolean", False, "false", _position(children[0]))

    # --- fields and conditions ------------------------------------------------------------
    def field(self, children: list[Token]) -> ast.FieldPath:
        return ast.FieldPath(tuple(str(c) for c in children), _position(children[0]))

    def compare(self, children: list[Any]) -> tuple[int, ast.Condition]:
        field, operator, value = children
        op = "!=" if str(operator) == "<>" else str(operator)
        return 1, ast.Comparison(field, op, value)

    def like(self, children: list[Any]) -> tuple[int, ast.Condition]:
        field, _, value = children
        return 1, ast.Comparison(field, "LIKE", value)

    def in_list(self, children: list[Any]) -> tuple[int, ast.Condition]:
        field, _, *values = children
        return 1, ast.InList(field, tuple(values), negated=False)

    def not_in_list(self, children: list[Any]) -> tuple[int, ast.Condition]:
        field, _, _, *values = children
        return 1, ast.InList(field, tuple(values), negated=True)

    def subquery(self, children: list[Any]) -> tuple[int, ast.SubQuery]:
        _, field, _, sobject, *rest = children
        depth, where = rest[1] if rest else (0, None)
        return depth, ast.SubQuery(field, str(sobject), _position(sobject), where)

    def semi_join(self, children: list[Any]) -> tuple[int, ast.Condition]:
        field, _, (depth, query) = children
        return self._nest(depth + 1, ast.SemiJoin(field, query, negated=False))

    def anti_join(self, children: list[Any]) -> tuple[int, ast.Condition]:
        field, _, _, (depth, query) = children
        return self._nest(depth + 1, ast.SemiJoin(field, query, negated=True))

    def _nest(self, depth: int, node: ast.Condition) -> tuple[int, ast.Condition]:
        if depth > MAX_DEPTH:
            raise SoqlError("MALFORMED_QUERY", f"Conditions nested deeper than {MAX_DEPTH} levels")
        return depth, node

    def not_expr(self, children: list[Any]) -> tuple[int, ast.Condition]:
        depth, item = children[1]
        return self._nest(depth + 1, ast.Not(item))

    def _items(self, children: list[Any]) -> tuple[int, tuple[ast.Condition, ...]]:
        pairs = [c for c in children if not isinstance(c, Token)]
        return max(d for d, _ in pairs) + 1, tuple(node for _, node in pairs)

    def and_chain(self, children: list[Any]) -> tuple[int, ast.Condition]:
        depth, items = self._items(children)
        return self._nest(depth, ast.And(items))

    def or_chain(self, children: list[Any]) -> tuple[int, ast.Condition]:
        depth, items = self._items(children)
        return self._nest(depth, ast.Or(items))

    # --- clauses --------------------------------------------------------------------------
    def select_count(self, children: list[Any]) -> tuple[str, Any]:
        return "count", ()

    def select_fields(self, children: list[Any]) -> tuple[str, Any]:
        return "fields", tuple(children[1:])

    def child_query(self, children: list[Any]) -> ast.ChildQuery:
        fields = tuple(c for c in children if isinstance(c, ast.FieldPath))
        clauses: dict[str, Any] = dict(c for c in children if isinstance(c, tuple))
        relationship: Token = next(c for c in children if isinstance(c, Token) and c.type == "NAME")
        return ast.ChildQuery(
            relationship=str(relationship),
            position=_position(relationship),
            fields=fields,
            where=clauses.get("where"),
            order_by=clauses.get("order", ()),
            limit=clauses.get("limit"),
        )

    def count_call(self, children: list[Any]) -> None:
        return None

    def from_clause(self, children: list[Token]) -> tuple[str, Any]:
        return "from", children[1]

    def where_clause(self, children: list[Any]) -> tuple[str, Any]:
        return "where", children[1][1]

    def direction(self, children: list[Token]) -> bool:
        return str(children[0]).upper() == "DESC"

    def nulls_first(self, children: list[Token]) -> tuple[str, bool]:
        return "nulls", True

    def nulls_last(self, children: list[Token]) -> tuple[str, bool]:
        return "nulls", False

    def order_item(self, children: list[Any]) -> ast.OrderItem:
        field, rest = children[0], children[1:]
        descending = next((c for c in rest if isinstance(c, bool)), False)
        nulls = next((c[1] for c in rest if isinstance(c, tuple)), not descending)
        return ast.OrderItem(field, descending=descending, nulls_first=nulls)

    def order_clause(self, children: list[Any]) -> tuple[str, Any]:
        return "order", tuple(c for c in children if isinstance(c, ast.OrderItem))

    def limit_clause(self, children: list[Token]) -> tuple[str, Any]:
        return "limit", self._count(children[1])

    def offset_clause(self, children: list[Token]) -> tuple[str, Any]:
        return "offset", self._count(children[1])

    def _count(self, token: Token) -> int:
        value = int(str(token))
        if value > 2_147_483_647:
            raise SoqlError(
                "NUMBER_OUTSIDE_VALID_RANGE",
                located(
                    self.query, token.line or 1, token.column or 1, f'For input string: "{token}"'
                ),
            )
        return value

    def start(self, children: list[Any]) -> ast.Query:
        clauses = dict(children)
        kind, items = ("count", ()) if "count" in clauses else ("fields", clauses["fields"])
        sobject: Token = clauses["from"]
        return ast.Query(
            fields=tuple(i for i in items if isinstance(i, ast.FieldPath)),
            children=tuple(i for i in items if isinstance(i, ast.ChildQuery)),
            is_count=kind == "count",
            sobject=str(sobject),
            sobject_position=_position(sobject),
            where=clauses.get("where"),
            order_by=clauses.get("order", ()),
            limit=clauses.get("limit"),
            offset=clauses.get("offset"),
            text=self.query,
        )

    # --- SOSL -----------------------------------------------------------------------------
    def sosl_scope(self, children: list[Token]) -> tuple[str, Any]:
        return "scope", str(children[1]).upper()

    def sosl_returning(self, children: list[Any]) -> tuple[str, Any]:
        return "returning", tuple(children[1:])

    def sosl_limit(self, children: list[Token]) -> tuple[str, Any]:
        return "overall_limit", self._count(children[1])

    def sosl_object(self, children: list[Any]) -> ast.SearchObject:
        name: Token = children[0]
        fields = tuple(c for c in children[1:] if isinstance(c, ast.FieldPath))
        clauses: dict[str, Any] = dict(c for c in children[1:] if isinstance(c, tuple))
        return ast.SearchObject(
            sobject=str(name),
            position=_position(name),
            fields=fields,
            where=clauses.get("where"),
            order_by=clauses.get("order", ()),
            limit=clauses.get("limit"),
            offset=clauses.get("offset"),
        )

    def sosl(self, children: list[Any]) -> ast.Search:
        term: Token = children[1]
        clauses: dict[str, Any] = dict(c for c in children[2:] if isinstance(c, tuple))
        return ast.Search(
            term=str(term)[1:-1],
            term_position=_position(term),
            scope=clauses.get("scope", "ALL"),
            objects=clauses.get("returning", ()),
            limit=clauses.get("overall_limit"),
            text=self.query,
        )


@lru_cache(maxsize=1)
def _grammar() -> str:
    return (Path(__file__).with_name("grammar.lark")).read_text()


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(
        _grammar(), parser="lalr", lexer="contextual", transformer=_Build(), start=["start", "sosl"]
    )


def _describe_unexpected(exc: LarkError, query: str) -> SoqlError:
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        token = exc.token
        return SoqlError(
            "MALFORMED_QUERY",
            located(query, token.line or 1, token.column or 1, f"unexpected token: '{token}'"),
        )
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        char = query[pos] if pos < len(query) else ""
        return SoqlError(
            "MALFORMED_QUERY",
            located(query, exc.line, exc.column, f"unexpected token: '{char}'"),
        )
    lines = query.splitlines() or [""]
    line, column = len(lines), len(lines[-1]) + 1
    if isinstance(exc, UnexpectedEOF | UnexpectedToken):
        return SoqlError("MALFORMED_QUERY", located(query, line, column, "unexpected token: <EOF>"))
    return SoqlError("MALFORMED_QUERY", located(query, line, column, "unexpected token"))


def _checked(query: str, code: str) -> None:
    if len(query) > MAX_QUERY_LENGTH:
        raise SoqlError(
            code, f"Query is too long: {len(query)} characters; the maximum is {MAX_QUERY_LENGTH}"
        )
    if not query.strip():
        raise SoqlError(code, "A query must not be empty")
    if "\x00" in query:  # no database can compare against a NUL; PostgreSQL refuses it
        raise SoqlError(code, "A query must not contain a NUL character")


def _run(query: str, start: str) -> Any:
    token = _CURRENT_QUERY.set(query)
    try:
        return _parser().parse(query, start=start)
    except SoqlError:
        raise
    except LarkError as exc:
        inner = getattr(exc, "orig_exc", None)
        if isinstance(inner, SoqlError):
            raise inner from None
        raise _describe_unexpected(exc, query) from None
    finally:
        _CURRENT_QUERY.reset(token)


def parse(query: str) -> ast.Query:
    """Parse one SOQL statement, or raise `SoqlError`."""
    _checked(query, "MALFORMED_QUERY")
    result = _run(query, "start")
    assert isinstance(result, ast.Query)
    return result


def parse_search(text: str) -> ast.Search:
    """Parse one SOSL statement (`FIND {…} …`), or raise `SoqlError` (MALFORMED_SEARCH for
    syntax; the RETURNING specs' names are checked when bound)."""
    _checked(text, "MALFORMED_SEARCH")
    try:
        result = _run(text, "sosl")
    except SoqlError as error:
        if error.error_code != "MALFORMED_QUERY":
            raise
        raise SoqlError("MALFORMED_SEARCH", error.message) from None
    assert isinstance(result, ast.Search)
    return result
