from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakeward.catalog.base import Column
from lakeward.catalog.expression import (
    NULL_PARTITION_VALUE,
    compile_expression,
    key_kind,
)
from lakeward.errors import InvalidRequest

KEYS = [Column("year", "int"), Column("month", "string"), Column("day", "date")]
NULL = NULL_PARTITION_VALUE


def select(expression: str, rows: list[tuple[str, ...]], keys: list[Column] = KEYS) -> list[Any]:
    matches = compile_expression(expression, keys)
    return [row for row in rows if matches(row)]


# -- syntax -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("year = 2024", True),
        ("YEAR = 2024", True),
        ('"Year" = 2024', True),
        ("`year` = 2024", True),
        ("year=2024", True),
        ("  year\t=\n2024  ", True),
        ("year = '2024'", True),
        ("year = '  2024 '", True),
        ("year <> 2024", False),
        ("year != 2024", False),
        ("year < 2025 and month = '03'", True),
        ("year <= 2024 AnD month >= '03'", True),
        ("year > 2023 or month = 'x'", True),
        ("year >= 2025 OR month = 'x'", False),
        ("year between 2020 and 2024", True),
        ("year not between 2020 and 2024", False),
        ("year BETWEEN 2025 AND 2020", False),
        ("month in ('01', '03')", True),
        ("month not in ('01', '03')", False),
        ("year in (2023, '2024')", True),
        ("month like '0%'", True),
        ("month like '_3'", True),
        ("month like '3'", False),
        ("month not like '1_'", True),
        ("year is not null", True),
        ("year IS NULL", False),
        ("not year = 2024", False),
        ("not not year = 2024", True),
        ("NOT (year = 2023 OR month = '04')", True),
        ("((year = 2024))", True),
        ("day = '2024-03-05'", True),
        ("day > '2024-03-04' AND day < '2024-03-06'", True),
        ("day between '2024-01-01' and '2024-12-31'", True),
        ("year = -1 OR year = 2024", True),
    ],
)
def test_syntax(expression: str, expected: bool) -> None:
    assert compile_expression(expression, KEYS)(("2024", "03", "2024-03-05")) is expected


def test_and_binds_tighter_than_or_and_not_tighter_than_and() -> None:
    keys = [Column("a", "string"), Column("b", "string"), Column("c", "string")]
    rows = [(a, b, c) for a in "xy" for b in "xy" for c in "xy"]
    assert select("a = 'x' OR b = 'x' AND c = 'x'", rows, keys) == [
        r for r in rows if r[0] == "x" or (r[1] == "x" and r[2] == "x")
    ]
    assert select("NOT a = 'x' AND b = 'x'", rows, keys) == [
        r for r in rows if r[0] != "x" and r[1] == "x"
    ]
    assert select("NOT (a = 'x' AND b = 'x')", rows, keys) == [
        r for r in rows if not (r[0] == "x" and r[1] == "x")
    ]


def test_quotes_inside_strings() -> None:
    keys = [Column("name", "string")]
    assert compile_expression("name = 'it''s'", keys)(("it's",))
    assert compile_expression("name = ''''", keys)(("'",))
    assert compile_expression("name = ''", keys)(("",))
    assert compile_expression("name IN ('a,b', ')')", keys)((")",))


def test_like_patterns() -> None:
    keys = [Column("k", "string")]

    def like(pattern: str, value: str) -> bool:
        return compile_expression(f"k LIKE '{pattern}'", keys)((value,))

    assert like("a.c", "a.c") and not like("a.c", "abc")
    assert like("%", "") and like("%", "anything\nat all")
    assert like("a_c", "a\nc")
    assert like("[x]*", "[x]*") and not like("[x]*", "x")
    assert like("100%", "100%") and like("100%", "1000")
    assert not like("abc", "ABC")
    assert like("%b%", "abc") and not like("b%", "abc")


def test_text_keys_compare_by_code_point_and_int_keys_by_number() -> None:
    keys = [Column("n", "bigint"), Column("s", "varchar(8)")]
    rows = [("9", "9"), ("10", "10"), ("-2", "-2")]
    assert select("n > 9", rows, keys) == [("10", "10")]
    assert select("n < 0", rows, keys) == [("-2", "-2")]
    assert select("s > '9'", rows, keys) == []
    assert select("s < '9'", rows, keys) == [("10", "10"), ("-2", "-2")]
    assert select("s = 9", rows, keys) == [("9", "9")]


def test_a_bare_number_for_a_text_key_is_taken_as_written() -> None:
    keys = [Column("month", "string")]
    assert compile_expression("month = 01", keys)(("01",))
    assert not compile_expression("month = 01", keys)(("1",))


def test_decimal_keys() -> None:
    keys = [Column("rate", "decimal(5,2)")]
    assert select("rate > 1.5", [("1.50",), ("1.51",), ("2",), ("x",)], keys) == [("1.51",), ("2",)]
    assert select("rate = 1.5", [("1.50",), ("1.5",)], keys) == [("1.50",), ("1.5",)]


@pytest.mark.parametrize(
    ("type_name", "kind"),
    [
        ("int", "int"),
        ("INTEGER", "int"),
        ("tinyint", "int"),
        ("smallint", "int"),
        ("bigint", "int"),
        ("double", "decimal"),
        ("float", "decimal"),
        ("decimal(10,2)", "decimal"),
        ("date", "date"),
        ("string", "string"),
        ("varchar(10)", "string"),
        ("timestamp", "string"),
        ("boolean", "string"),
    ],
)
def test_key_kind(type_name: str, kind: str) -> None:
    assert key_kind(type_name) == kind


# -- NULL and three-valued logic ----------------------------------------------------------


def test_null_values() -> None:
    keys = [Column("n", "int"), Column("s", "string")]
    rows = [("1", "a"), (NULL, "b"), ("x", "c"), ("2", NULL)]
    assert select("n IS NULL", rows, keys) == [(NULL, "b"), ("x", "c")]
    assert select("s IS NULL", rows, keys) == [("2", NULL)]
    assert select("s IS NOT NULL", rows, keys) == rows[:3]
    assert select("n <> 1", rows, keys) == [("2", NULL)]
    assert select("NOT n = 1", rows, keys) == [("2", NULL)]
    assert select("NOT (n = 1 AND s = 'z')", rows, keys) == rows
    assert select("NOT (n = 1 OR s = 'z')", rows, keys) == []
    assert select("n = 1 OR s <> 'q'", rows, keys) == rows[:3]
    assert select("NOT (n IN (1) OR s LIKE '%')", rows, keys) == []
    assert select("n NOT BETWEEN 5 AND 6", rows, keys) == [("1", "a"), ("2", NULL)]


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("year = ", "at column 8: expected a value ('text' or a number) after '='"),
        ("year IN (", "at column 10: expected a value ('text' or a number) after '('"),
        ("year IN (1,", "at column 12: expected a value ('text' or a number) after ','"),
        ("year IN 1", "at column 9: expected '(' after IN, found '1'"),
        ("year IN (1 2)", "at column 12: expected ',' or ')' in the IN list, found '2'"),
        ("year BETWEEN 1 2", "at column 16: expected AND after BETWEEN 1, found '2'"),
        ("year BETWEEN 1 AND", "at column 19: expected a value ('text' or a number) after 'AND'"),
        (
            "year",
            "at column 5: expected =, <>, !=, <, <=, >, >=, BETWEEN, IN, LIKE or IS after 'year'",
        ),
        ("year NOT = 1", "at column 10: expected BETWEEN, IN or LIKE after 'NOT', found '='"),
        ("year IS", "at column 8: expected NULL after IS, found the end of the expression"),
        ("year IS NOT 1", "at column 13: expected NULL after IS NOT, found '1'"),
        ("= 1", "at column 1: expected a partition key, found '='"),
        ("'year' = 1", "at column 1: expected a partition key, found 'year'"),
        ("year = 1 AND", "at column 13: expected a partition key, found the end"),
        ("year = 1 month = '1'", "at column 10: expected AND, OR or the end of the expression"),
        ("(year = 1", "at column 10: expected ')' to close the '(' at column 1"),
        ("year = 1)", "at column 9: expected AND, OR or the end of the expression, found ')'"),
        ("year = 'x", "at column 8: the string opened here is not closed"),
        ('"year = 1', 'at column 1: the key name opened by " is not closed'),
        ("year = 1 & month = '1'", "at column 10: unexpected character '&'"),
        ("year = 'x'", "at column 8: 'x' is not an integer, and key 'year' is int"),
        ("year = 1.5", "at column 8: '1.5' is not an integer"),
        ("day = '2024-02-30'", "at column 7: '2024-02-30' is not a date 'YYYY-MM-DD'"),
        ("day = 20240101", "is not a date 'YYYY-MM-DD', and key 'day' is date"),
        ("year LIKE '2%'", "at column 6: LIKE needs a text key, and 'year' is int"),
        ("month LIKE 3", "at column 12: expected a 'pattern' after LIKE, found '3'"),
        ("", "at column 1: the expression is empty"),
        ("   ", "at column 1: the expression is empty"),
    ],
)
def test_errors_say_where_and_what_was_expected(expression: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        compile_expression(expression, KEYS)
    assert message in str(caught.value)
    assert repr(expression) in str(caught.value)


def test_unknown_key_names_the_keys_and_the_closest() -> None:
    with pytest.raises(InvalidRequest) as caught:
        compile_expression("year = 1 AND mnth = '01'", KEYS)
    assert str(caught.value).startswith(
        "at column 14: unknown partition key 'mnth' (the keys are year, month, day); "
        "did you mean 'month'?"
    )
    with pytest.raises(InvalidRequest, match=r"the keys are year, month, day\)(?!;)"):
        compile_expression("zzzzzz = 1", KEYS)


def test_a_table_without_partition_keys_takes_no_expression() -> None:
    with pytest.raises(InvalidRequest, match="no partition keys"):
        compile_expression("year = 1", [])


def test_keywords_can_be_key_names_when_quoted() -> None:
    keys = [Column("in", "string"), Column("not", "string")]
    assert compile_expression("\"in\" = 'a' AND `NOT` = 'b'", keys)(("a", "b"))
    with pytest.raises(InvalidRequest, match="expected a partition key, found 'IN'"):
        compile_expression("in = 'a'", keys)


# -- canonical Glue text and the prefix a backend may push down ---------------------------


@pytest.mark.parametrize(
    ("expression", "glue"),
    [
        ("YEAR = 2024", "year = 2024"),
        ("year = '2024'", "year = 2024"),
        ("year != 1", "year <> 1"),
        ("month = 01", "month = '01'"),
        ("NOT year = 1", "year <> 1"),
        ("NOT year < 1", "year >= 1"),
        ("NOT NOT year > 1", "year > 1"),
        ("NOT (year = 1 OR month LIKE 'a%')", "(year <> 1) AND (month NOT LIKE 'a%')"),
        ("NOT (year IN (1, 2) AND day IS NULL)", "(year NOT IN (1, 2)) OR (day IS NOT NULL)"),
        ("NOT year NOT BETWEEN 1 AND 2", "year BETWEEN 1 AND 2"),
        ("month = 'it''s'", "month = 'it''s'"),
        ("day = '2024-01-05'", "day = '2024-01-05'"),
        ("a = 1 OR b = 2 AND c = 3", None),
    ],
)
def test_glue_expression(expression: str, glue: str | None) -> None:
    keys = [*KEYS, Column("a", "int"), Column("b", "int"), Column("c", "int")]
    compiled = compile_expression(expression, keys)
    assert compiled.expression == expression
    if glue is not None:
        assert compiled.glue_expression == glue
    else:
        assert compiled.glue_expression == "(a = 1) OR ((b = 2) AND (c = 3))"


@pytest.mark.parametrize(
    ("expression", "prefix"),
    [
        ("a = 'x'", ("x",)),
        ("b = 'y' AND a = 'x'", ("x", "y")),
        ("a IN ('x') AND c = 'z' AND b = 'y'", ("x", "y", "z")),
        ("b = 'y'", ()),
        ("a = 'x' OR b = 'y'", ()),
        ("a IN ('x', 'w')", ()),
        ("NOT a = 'x'", ()),
        ("a = 'x' AND (b = 'y' OR c = 'z')", ("x",)),
        ("a = 'x' AND n = 1", ("x",)),
    ],
)
def test_prefix(expression: str, prefix: tuple[str, ...]) -> None:
    keys = [Column("a", "string"), Column("b", "string"), Column("c", "string"), Column("n", "int")]
    assert compile_expression(expression, keys).prefix == prefix


# -- property: the evaluator agrees with a plain reference --------------------------------

PKEYS = [Column("s", "string"), Column("n", "int")]
TEXT = st.text(alphabet="ab'%_ ", max_size=3)
INTS = st.integers(min_value=-3, max_value=12)
OPS = ("=", "<>", "!=", "<", "<=", ">", ">=")

Node = tuple[Any, ...]


@st.composite
def literals(draw: st.DrawFn, key: str) -> tuple[str, Any]:
    """(text as written, value) of a literal for a key."""
    if key == "s":
        value = draw(TEXT)
        return "'" + value.replace("'", "''") + "'", value
    number = draw(INTS)
    return (f"'{number}'" if draw(st.booleans()) else str(number)), number


@st.composite
def predicates(draw: st.DrawFn) -> Node:
    key = draw(st.sampled_from(["s", "n"]))
    kinds = ["cmp", "between", "in", "isnull"] + (["like"] if key == "s" else [])
    kind = draw(st.sampled_from(kinds))
    negated = draw(st.booleans())
    if kind == "cmp":
        return ("cmp", key, draw(st.sampled_from(OPS)), draw(literals(key)))
    if kind == "between":
        return ("between", key, draw(literals(key)), draw(literals(key)), negated)
    if kind == "in":
        options = draw(st.lists(literals(key), min_size=1, max_size=3))
        return ("in", key, options, negated)
    if kind == "like":
        return ("like", key, draw(st.text(alphabet="ab%_", max_size=4)), negated)
    return ("isnull", key, negated)


def trees() -> st.SearchStrategy[Node]:
    return st.recursive(
        predicates(),
        lambda inner: st.one_of(
            st.tuples(st.just("and"), inner, inner),
            st.tuples(st.just("or"), inner, inner),
            st.tuples(st.just("not"), inner),
        ),
        max_leaves=6,
    )


def render(node: Node, case: Any) -> str:
    kind = node[0]
    if kind in ("and", "or"):
        return f"({render(node[1], case)}) {case(kind)} ({render(node[2], case)})"
    if kind == "not":
        return f"{case('not')} ({render(node[1], case)})"
    key, negation = node[1], (case("not ") if node[-1] is True else "")
    if kind == "cmp":
        return f"{key} {node[2]} {node[3][0]}"
    if kind == "between":
        return f"{key} {negation}{case('between')} {node[2][0]} {case('and')} {node[3][0]}"
    if kind == "in":
        return f"{key} {negation}{case('in')} ({', '.join(text for text, _ in node[2])})"
    if kind == "like":
        return f"{key} {negation}{case('like')} '{node[2]}'"
    return f"{key} {case('is')} {case('not ') if node[2] else ''}{case('null')}"


def like_reference(pattern: str, value: str) -> bool:
    if not pattern:
        return not value
    if pattern[0] == "%":
        return any(like_reference(pattern[1:], value[i:]) for i in range(len(value) + 1))
    if not value:
        return False
    return (pattern[0] in ("_", value[0])) and like_reference(pattern[1:], value[1:])


def reference(node: Node, row: dict[str, Any]) -> bool | None:
    """SQL's three-valued logic, written plainly."""
    kind = node[0]
    if kind == "and":
        left, right = reference(node[1], row), reference(node[2], row)
        if left is False or right is False:
            return False
        return None if None in (left, right) else True
    if kind == "or":
        left, right = reference(node[1], row), reference(node[2], row)
        if left is True or right is True:
            return True
        return None if None in (left, right) else False
    if kind == "not":
        inner = reference(node[1], row)
        return None if inner is None else not inner
    value = row[node[1]]
    if kind == "isnull":
        return (value is None) != node[2]
    if value is None:
        return None
    if kind == "cmp":
        right = node[3][1]
        return {
            "=": value == right,
            "<>": value != right,
            "!=": value != right,
            "<": value < right,
            "<=": value <= right,
            ">": value > right,
            ">=": value >= right,
        }[node[2]]
    if kind == "between":
        return (node[2][1] <= value <= node[3][1]) != node[4]
    if kind == "in":
        return (value in [v for _, v in node[2]]) != node[3]
    return like_reference(node[2], value) != node[3]


ROWS = st.tuples(
    st.one_of(TEXT, st.just(NULL)),
    st.one_of(INTS.map(str), st.sampled_from([NULL, "x", "", "07", " 3"])),
)


def as_row(values: tuple[str, str]) -> dict[str, Any]:
    s, n = values
    number = int(n) if re.fullmatch(r"\s*-?\d+\s*", n) else None
    return {"s": None if s == NULL else s, "n": None if n == NULL else number}


CASES = [str.upper, str.lower, str.title]


@settings(max_examples=300, deadline=None)
@given(trees(), st.lists(ROWS, min_size=1, max_size=8), st.sampled_from(CASES))
def test_evaluator_agrees_with_the_reference(
    tree: Node, rows: list[tuple[str, str]], case: Any
) -> None:
    text = render(tree, case)
    compiled = compile_expression(text, PKEYS)
    canonical = compile_expression(compiled.glue_expression, PKEYS)
    for row in rows:
        expected = reference(tree, as_row(row)) is True
        assert compiled(row) is expected, (text, row)
        assert canonical(row) is expected, (compiled.glue_expression, row)


@settings(max_examples=200, deadline=None)
@given(tree=trees(), case=st.sampled_from(CASES))
def test_glue_expression_is_a_fixed_point(tree: Node, case: Any) -> None:
    glue = compile_expression(render(tree, case), PKEYS).glue_expression
    assert compile_expression(glue, PKEYS).glue_expression == glue
    assert " NOT (" not in glue and not glue.startswith("NOT")


@given(st.text(max_size=40))
def test_any_text_compiles_or_is_an_invalid_request(text: str) -> None:
    try:
        compile_expression(text, PKEYS)
    except InvalidRequest as exc:
        assert exc.message.startswith("at column ")
