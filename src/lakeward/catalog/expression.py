"""Glue's ``GetPartitions`` expression syntax: a small parser and evaluator.

The grammar (keywords and key names are case-insensitive)::

    expr      := or
    or        := and ("OR" and)*
    and       := not ("AND" not)*
    not       := "NOT" not | "(" expr ")" | predicate
    predicate := key ( op literal                        op: = <> != < <= > >=
                     | ["NOT"] "BETWEEN" literal "AND" literal
                     | ["NOT"] "IN" "(" literal ("," literal)* ")"
                     | ["NOT"] "LIKE" 'pattern'           % any run, _ one character
                     | "IS" ["NOT"] "NULL" )
    literal   := 'text' ('' inside for a quote) | number
    key       := name | "name" | `name`

Like Glue, a key's type decides how it compares: integer keys (``int``, ``bigint``,
``smallint``, ``tinyint``) numerically, ``decimal``/``double``/``float`` keys as decimals,
``date`` keys as dates and every other key (``string``, ``varchar``…) as text, by code
point. A quoted literal is read as the key's type (``year = '2024'`` on an ``int`` key);
a bare number compared with a text key is taken as written (``month = 01`` is ``'01'``).

Logic is SQL's three-valued one: a partition value that is NULL (Hive's
``__HIVE_DEFAULT_PARTITION__``, or text that is not a number for a numeric key) makes
every comparison with it unknown, ``NOT`` of unknown stays unknown, and only partitions
for which the whole expression is true are selected.

>>> from lakeward.catalog.base import Column
>>> keys = [Column("year", "int"), Column("month", "string")]
>>> matches = compile_expression("YEAR >= 2023 AND month IN ('01', '02')", keys)
>>> matches(("2024", "01")), matches(("2022", "01")), matches(("2024", "03"))
(True, False, False)
>>> matches.glue_expression
"(year >= 2023) AND (month IN ('01', '02'))"
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from lakeward.catalog.base import Column
from lakeward.errors import InvalidRequest

__all__ = ["NULL_PARTITION_VALUE", "PartitionFilter", "compile_expression", "key_kind"]

NULL_PARTITION_VALUE = "__HIVE_DEFAULT_PARTITION__"
"""The text Hive (and Athena) store as a NULL partition value."""

Kind = Literal["int", "decimal", "date", "string"]
Value = int | Decimal | date | str
Truth = bool | None
"""SQL's three truth values: True, False and None for unknown."""

_INT_TYPES = frozenset({"tinyint", "smallint", "int", "integer", "bigint"})
_DECIMAL_TYPES = frozenset({"decimal", "double", "float", "real"})
_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "BETWEEN", "LIKE", "IS", "NULL"})
_COMPARISONS = ("=", "<>", "!=", "<", "<=", ">", ">=")
_INT_RE = re.compile(r"[+-]?\d+")
_DECIMAL_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<number>-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op><=|>=|<>|!=|=|<|>)
    | (?P<punct>[(),])
    """,
    re.VERBOSE,
)


def key_kind(type_name: str) -> Kind:
    """How values of a partition key of this Hive type compare.

    >>> key_kind("BIGINT"), key_kind("decimal(10,2)"), key_kind("varchar(8)")
    ('int', 'decimal', 'string')
    """
    base = type_name.strip().lower().split("(", 1)[0].strip()
    if base in _INT_TYPES:
        return "int"
    if base in _DECIMAL_TYPES:
        return "decimal"
    return "date" if base == "date" else "string"


def _read(kind: Kind, text: str) -> Value | None:
    """Read a partition value as its key's kind; None when it is NULL or unreadable."""
    if text == NULL_PARTITION_VALUE:
        return None
    stripped = text.strip()
    if kind == "int":
        return int(stripped) if _INT_RE.fullmatch(stripped) else None
    if kind == "decimal":
        return Decimal(stripped) if _DECIMAL_RE.fullmatch(stripped) else None
    if kind == "date":
        if not _DATE_RE.fullmatch(stripped):
            return None
        try:
            return date.fromisoformat(stripped)
        except ValueError:
            return None
    return text


# -- tokens -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str
    """``keyword``, ``name``, ``string``, ``number``, ``op``, ``punct`` or ``end``."""
    text: str
    """The keyword upper-cased, a name or string's content, or the text as written."""
    column: int
    """1-based position of its first character."""

    def shown(self) -> str:
        if self.kind == "end":
            return "the end of the expression"
        if self.kind == "string":
            return "'" + self.text.replace("'", "''") + "'"
        return repr(self.text)


def _tokenize(text: str, fail: Callable[[int, str], InvalidRequest]) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "'":
            pos = _string(text, pos, tokens, fail)
            continue
        if char in '"`':
            end = text.find(char, pos + 1)
            if end < 0:
                raise fail(pos + 1, f"the key name opened by {char} is not closed")
            tokens.append(_Token("name", text[pos + 1 : end], pos + 1))
            pos = end + 1
            continue
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise fail(pos + 1, f"unexpected character {char!r}")
        kind = match.lastgroup or ""
        word = match.group()
        if kind == "name" and word.upper() in _KEYWORDS:
            tokens.append(_Token("keyword", word.upper(), pos + 1))
        elif kind != "space":
            tokens.append(_Token(kind, word, pos + 1))
        pos = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


def _string(
    text: str, start: int, tokens: list[_Token], fail: Callable[[int, str], InvalidRequest]
) -> int:
    parts: list[str] = []
    pos = start + 1
    while True:
        end = text.find("'", pos)
        if end < 0:
            raise fail(start + 1, "the string opened here is not closed (write '' for a quote)")
        parts.append(text[pos:end])
        if text.startswith("''", end):
            parts.append("'")
            pos = end + 2
            continue
        tokens.append(_Token("string", "".join(parts), start + 1))
        return end + 1


# -- syntax tree --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Key:
    index: int
    name: str
    kind: Kind


@dataclass(frozen=True)
class _Literal:
    value: Value
    shown: str
    """The literal in canonical Glue syntax (quoted for text and dates)."""


@dataclass(frozen=True)
class _Compare:
    key: _Key
    op: str
    literal: _Literal


@dataclass(frozen=True)
class _Between:
    key: _Key
    low: _Literal
    high: _Literal
    negated: bool


@dataclass(frozen=True)
class _In:
    key: _Key
    literals: tuple[_Literal, ...]
    negated: bool


@dataclass(frozen=True)
class _Like:
    key: _Key
    pattern: str
    negated: bool


@dataclass(frozen=True)
class _IsNull:
    key: _Key
    negated: bool


@dataclass(frozen=True)
class _Bool:
    op: Literal["AND", "OR"]
    left: _Node
    right: _Node


@dataclass(frozen=True)
class _Not:
    operand: _Node


_Node = _Compare | _Between | _In | _Like | _IsNull | _Bool | _Not


# -- parser -------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, keys: Sequence[Column]) -> None:
        self.text = text
        self.keys = list(keys)
        self.by_name: dict[str, int] = {}
        for index, key in enumerate(self.keys):
            self.by_name.setdefault(key.name.lower(), index)
        self.tokens = _tokenize(text, self.fail)
        self.pos = 0

    def fail(self, column: int, message: str) -> InvalidRequest:
        return InvalidRequest(
            f"at column {column}: {message} (in partition expression {self.text!r})"
        )

    @property
    def token(self) -> _Token:
        return self.tokens[self.pos]

    def advance(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def accept(self, kind: str, text: str) -> bool:
        if self.token.kind == kind and self.token.text == text:
            self.pos += 1
            return True
        return False

    def expect(self, kind: str, text: str, what: str) -> None:
        if not self.accept(kind, text):
            raise self.fail(self.token.column, f"expected {what}, found {self.token.shown()}")

    def parse(self) -> _Node:
        node = self.parse_or()
        if self.token.kind != "end":
            raise self.fail(
                self.token.column,
                f"expected AND, OR or the end of the expression, found {self.token.shown()}",
            )
        return node

    def parse_or(self) -> _Node:
        node = self.parse_and()
        while self.accept("keyword", "OR"):
            node = _Bool("OR", node, self.parse_and())
        return node

    def parse_and(self) -> _Node:
        node = self.parse_not()
        while self.accept("keyword", "AND"):
            node = _Bool("AND", node, self.parse_not())
        return node

    def parse_not(self) -> _Node:
        if self.accept("keyword", "NOT"):
            return _Not(self.parse_not())
        token = self.token
        if self.accept("punct", "("):
            node = self.parse_or()
            self.expect("punct", ")", f"')' to close the '(' at column {token.column}")
            return node
        return self.parse_predicate()

    def parse_key(self) -> _Key:
        token = self.advance()
        if token.kind != "name":
            raise self.fail(token.column, f"expected a partition key, found {token.shown()}")
        index = self.by_name.get(token.text.lower())
        if index is None:
            names = [key.name for key in self.keys]
            close = difflib.get_close_matches(token.text.lower(), list(self.by_name), n=1)
            hint = f"; did you mean {self.keys[self.by_name[close[0]]].name!r}?" if close else ""
            raise self.fail(
                token.column,
                f"unknown partition key {token.text!r} (the keys are {', '.join(names)}){hint}",
            )
        key = self.keys[index]
        return _Key(index, key.name, key_kind(key.type))

    def parse_predicate(self) -> _Node:
        key = self.parse_key()
        after = key.name
        token = self.advance()
        if token.kind == "op":
            return _Compare(
                key, "<>" if token.text == "!=" else token.text, self.literal(key, token)
            )
        if token.kind == "keyword" and token.text == "IS":
            negated = self.accept("keyword", "NOT")
            self.expect("keyword", "NULL", "NULL after IS" + (" NOT" if negated else ""))
            return _IsNull(key, negated)
        negated = token.kind == "keyword" and token.text == "NOT"
        if negated:
            after, token = "NOT", self.advance()
        if token.kind == "keyword" and token.text == "BETWEEN":
            low = self.literal(key, token)
            self.expect("keyword", "AND", f"AND after BETWEEN {low.shown}")
            return _Between(key, low, self.literal(key, self.tokens[self.pos - 1]), negated)
        if token.kind == "keyword" and token.text == "IN":
            return _In(key, self.literal_list(key), negated)
        if token.kind == "keyword" and token.text == "LIKE":
            return self.like(key, token, negated)
        wanted = (
            "BETWEEN, IN or LIKE" if negated else "=, <>, !=, <, <=, >, >=, BETWEEN, IN, LIKE or IS"
        )
        raise self.fail(token.column, f"expected {wanted} after {after!r}, found {token.shown()}")

    def literal(self, key: _Key, before: _Token) -> _Literal:
        token = self.advance()
        if token.kind not in ("string", "number"):
            raise self.fail(
                token.column,
                f"expected a value ('text' or a number) after {before.text!r}, found {token.shown()}",
            )
        if key.kind == "string":
            return _Literal(token.text, "'" + token.text.replace("'", "''") + "'")
        value = _read(key.kind, token.text)
        if value is None or isinstance(value, str):
            wanted = {"int": "an integer", "decimal": "a number", "date": "a date 'YYYY-MM-DD'"}
            raise self.fail(
                token.column,
                f"{token.shown()} is not {wanted[key.kind]}, and key {key.name!r} is "
                f"{self.keys[key.index].type}",
            )
        shown = f"'{value.isoformat()}'" if isinstance(value, date) else str(value)
        return _Literal(value, shown)

    def literal_list(self, key: _Key) -> tuple[_Literal, ...]:
        self.expect("punct", "(", "'(' after IN")
        literals = [self.literal(key, self.tokens[self.pos - 1])]
        while self.accept("punct", ","):
            literals.append(self.literal(key, self.tokens[self.pos - 1]))
        self.expect("punct", ")", "',' or ')' in the IN list")
        return tuple(literals)

    def like(self, key: _Key, token: _Token, negated: bool) -> _Like:
        if key.kind != "string":
            raise self.fail(
                token.column,
                f"LIKE needs a text key, and {key.name!r} is {self.keys[key.index].type}",
            )
        pattern = self.advance()
        if pattern.kind != "string":
            raise self.fail(
                pattern.column, f"expected a 'pattern' after LIKE, found {pattern.shown()}"
            )
        return _Like(key, pattern.text, negated)


# -- evaluation ---------------------------------------------------------------------------

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_Eval = Callable[[tuple[str, ...]], Truth]


def _value_of(key: _Key) -> Callable[[tuple[str, ...]], Value | None]:
    index, kind = key.index, key.kind
    if kind == "string":
        return lambda values: None if values[index] == NULL_PARTITION_VALUE else values[index]
    return lambda values: _read(kind, values[index])


def _like_regex(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def _compile(node: _Node) -> _Eval:
    if isinstance(node, _Bool):
        join = _and if node.op == "AND" else _or
        return join(_compile(node.left), _compile(node.right))
    if isinstance(node, _Not):
        inner = _compile(node.operand)
        return lambda values: None if (truth := inner(values)) is None else not truth
    if isinstance(node, _IsNull):
        is_null, negated = _value_of(node.key), node.negated
        return lambda values: (is_null(values) is None) != negated
    predicate = _predicate(node)
    get = _value_of(node.key)

    def evaluate(values: tuple[str, ...]) -> Truth:
        value = get(values)
        return None if value is None else predicate(value)

    return evaluate


def _predicate(node: _Compare | _Between | _In | _Like) -> Callable[[Any], bool]:
    match node:
        case _Compare(op=op, literal=literal):
            compare, right = _OPS[op], literal.value
            return lambda value: compare(value, right)
        case _Between(low=low, high=high, negated=negated):
            lo, hi = low.value, high.value
            return lambda value: (lo <= value <= hi) != negated
        case _In(literals=literals, negated=negated):
            options = frozenset(literal.value for literal in literals)
            return lambda value: (value in options) != negated
        case _Like(pattern=pattern, negated=negated):
            regex = _like_regex(pattern)
            return lambda value: (regex.fullmatch(value) is not None) != negated
    raise AssertionError(node)  # pragma: no cover


def _and(left: _Eval, right: _Eval) -> _Eval:
    def evaluate(values: tuple[str, ...]) -> Truth:
        first = left(values)
        if first is False:
            return False
        second = right(values)
        if second is False:
            return False
        return None if first is None or second is None else True

    return evaluate


def _or(left: _Eval, right: _Eval) -> _Eval:
    def evaluate(values: tuple[str, ...]) -> Truth:
        first = left(values)
        if first is True:
            return True
        second = right(values)
        if second is True:
            return True
        return None if first is None or second is None else False

    return evaluate


# -- canonical Glue text ------------------------------------------------------------------

_NEGATED_OPS = {"=": "<>", "<>": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}


def _negate(node: _Node) -> _Node:
    """``NOT node`` with the NOT pushed to the leaves (exact in three-valued logic)."""
    match node:
        case _Not(operand=operand):
            return operand
        case _Bool(op=op, left=left, right=right):
            return _Bool("OR" if op == "AND" else "AND", _negate(left), _negate(right))
        case _Compare(key=key, op=op, literal=literal):
            return _Compare(key, _NEGATED_OPS[op], literal)
        case _Between() | _In() | _Like() | _IsNull():
            return _replace_negated(node)
    raise AssertionError(node)  # pragma: no cover


def _replace_negated(node: _Between | _In | _Like | _IsNull) -> _Node:
    return replace(node, negated=not node.negated)


def _render(node: _Node) -> str:
    match node:
        case _Not(operand=operand):
            return _render(_negate(operand))
        case _Bool(op=op, left=left, right=right):
            return f"({_render(left)}) {op} ({_render(right)})"
        case _Compare(key=key, op=op, literal=literal):
            return f"{key.name} {op} {literal.shown}"
        case _Between(key=key, low=low, high=high, negated=negated):
            return f"{key.name} {'NOT ' if negated else ''}BETWEEN {low.shown} AND {high.shown}"
        case _In(key=key, literals=literals, negated=negated):
            listed = ", ".join(literal.shown for literal in literals)
            return f"{key.name} {'NOT ' if negated else ''}IN ({listed})"
        case _Like(key=key, pattern=pattern, negated=negated):
            quoted = pattern.replace("'", "''")
            return f"{key.name} {'NOT ' if negated else ''}LIKE '{quoted}'"
        case _IsNull(key=key, negated=negated):
            return f"{key.name} IS {'NOT ' if negated else ''}NULL"
    raise AssertionError(node)  # pragma: no cover


def _fixed_values(node: _Node) -> dict[int, str]:
    """Text keys the expression pins to one value in a top-level conjunct."""
    match node:
        case _Bool(op="AND", left=left, right=right):
            return {**_fixed_values(right), **_fixed_values(left)}
        case _Compare(key=key, op="=", literal=literal) if key.kind == "string":
            return {key.index: str(literal.value)}
        case _In(key=key, literals=(literal,), negated=False) if key.kind == "string":
            return {key.index: str(literal.value)}
    return {}


# -- public API ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PartitionFilter:
    """A compiled expression: call it with a partition's values (strings, in key order).

    Attributes:
        expression: The text it was compiled from.
        prefix: Values the expression requires of the leading text keys (a backend may
            select ``values[:len(prefix)] == prefix`` before evaluating the rest).
        glue_expression: The same filter in canonical Glue syntax: keys as declared,
            ``<>`` for ``!=``, literals typed, ``NOT`` pushed down to ``NOT IN``/``<>``/…
            and every ``AND``/``OR`` operand parenthesized.
    """

    expression: str
    prefix: tuple[str, ...]
    glue_expression: str
    _evaluate: _Eval

    def __call__(self, values: tuple[str, ...]) -> bool:
        """Whether a partition with these values matches (unknown counts as no)."""
        return self._evaluate(values) is True


def compile_expression(text: str, keys: Sequence[Column]) -> PartitionFilter:
    """Parse a Glue partition expression against a table's partition keys.

    Args:
        text: The expression, e.g. ``year = '2024' AND month IN ('01', '02')``.
        keys: The table's partition keys, in order (names and Hive types).

    Returns:
        A callable ``values -> bool`` over a partition's values (strings, in key order).

    Raises:
        InvalidRequest: The expression does not parse (the message gives the column and
            what was expected), names an unknown key (with the known keys and the closest
            one), has a literal its key's type cannot hold, or the table has no partition keys.

    >>> compile_expression("yeer = '1'", [Column("year", "string")])
    Traceback (most recent call last):
    ...
    lakeward.errors.InvalidRequest: at column 1: unknown partition key 'yeer' (the keys are year); did you mean 'year'? (in partition expression "yeer = '1'")
    """
    if not keys:
        raise InvalidRequest(
            f"the table has no partition keys, so no partition expression applies: {text!r}"
        )
    parser = _Parser(text, keys)
    if parser.token.kind == "end":
        raise parser.fail(1, "the expression is empty (pass no expression for every partition)")
    tree = parser.parse()
    fixed = _fixed_values(tree)
    prefix: list[str] = []
    while len(prefix) in fixed:
        prefix.append(fixed[len(prefix)])
    return PartitionFilter(text, tuple(prefix), _render(tree), _compile(tree))
