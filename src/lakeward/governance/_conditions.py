"""IAM condition operators, wildcard patterns and policy variables.

Written from AWS's documentation (no code copied), chiefly:

* "IAM JSON policy elements: Condition operators"
  (docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)
* "Conditions with multiple context keys or values"
  (…/reference_policies_condition-logic-multiple-context-keys-or-values.html)
* "Single-valued vs. multivalued context keys" (…/reference_policies_condition-single-vs-multi-valued-context-keys.html)
* "IAM policy elements: Variables and tags" (…/reference_policies_variables.html)

A :class:`Pattern` is a policy string split once, at parse time, into literal text,
wildcards (``*``, ``?``) and policy variables (``${aws:username}``,
``${aws:PrincipalTag/team, 'none'}``, the escapes ``${*}``, ``${?}``, ``${$}``). A
:class:`Condition` is one ``operator → key → values`` entry of a ``Condition`` block.

>>> ctx = Context({"aws:username": "alice"})
>>> Pattern.parse("home/${aws:username}/*", variables=True).matches("home/alice/x.csv", ctx)
True
>>> Pattern.parse("literal${*}", variables=True).matches("literalXYZ", ctx)
False
"""

from __future__ import annotations

import base64
import binascii
import difflib
import enum
import functools
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

__all__ = [
    "OPERATORS",
    "Condition",
    "Context",
    "ContextValue",
    "Pattern",
    "arn_matches",
    "parse_condition_block",
]

ContextValue = str | bool | int | float | Sequence[str]
"""A request-context value: one scalar, or a list for a multivalued key (``aws:TagKeys``)."""

Qualifier = Literal["", "ForAllValues", "ForAnyValue"]


class ConditionSyntaxError(ValueError):
    """A condition or pattern the policy language does not allow (the caller names the statement)."""


# -- the request context ----------------------------------------------------------------


class Context:
    """Condition keys of one request, looked up case-insensitively like AWS does.

    Values are normalised to tuples of strings: ``True`` becomes ``("true",)``, ``3``
    becomes ``("3",)`` and a list stays a list. A key with no values counts as absent.
    """

    def __init__(self, values: Mapping[str, ContextValue]) -> None:
        self._values: dict[str, tuple[str, ...]] = {}
        for key, value in values.items():
            normalised = _normalise(value)
            if normalised:
                self._values[key.casefold()] = normalised

    def get(self, key: str) -> tuple[str, ...] | None:
        """Return the values of ``key`` (any case), or None when the request lacks it."""
        return self._values.get(key.casefold())

    def single(self, key: str) -> str | None:
        """Return the one value of ``key``, or None when it is absent or multivalued.

        Policy variables resolve only from single-valued keys ("you cannot use
        multivalued context keys as policy variables", AWS's variables page).
        """
        values = self._values.get(key.casefold())
        return values[0] if values is not None and len(values) == 1 else None

    def keys(self) -> Iterable[str]:
        """Return the (case-folded) keys present."""
        return self._values.keys()


def _normalise(value: object) -> tuple[str, ...]:
    if isinstance(value, bool):
        return ("true" if value else "false",)
    if isinstance(value, str | int | float):
        return (str(value),)
    if isinstance(value, bytes):
        return (base64.b64encode(value).decode("ascii"),)
    if isinstance(value, Sequence):
        return tuple(item for v in value for item in _normalise(v))
    return (str(value),)


# -- patterns: literal text, wildcards and policy variables ------------------------------


class _Wild(enum.Enum):
    ANY = "*"
    ONE = "?"


@dataclass(frozen=True)
class _Var:
    key: str
    default: str | None


_Token = str | _Wild | _Var
_VAR_RE = re.compile(r"\$\{([^}]*)\}")
_VAR_BODY_RE = re.compile(r"\s*([^\s,']+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True)
class Pattern:
    """A policy string as literal text, ``*``/``?`` wildcards and policy variables.

    Attributes:
        text: The string as written in the policy.
        tokens: Literal strings, wildcards and variables, in order.
    """

    text: str
    tokens: tuple[_Token, ...]

    @classmethod
    def parse(cls, text: str, *, variables: bool) -> Pattern:
        """Split ``text``; ``variables`` is False for ``Version`` 2008-10-17 policies.

        Raises:
            ConditionSyntaxError: A ``${…}`` that is neither a key, a key with a
                quoted default, nor one of the escapes ``${*}``, ``${?}``, ``${$}``.
        """
        tokens: list[_Token] = []
        pos = 0
        for match in _VAR_RE.finditer(text) if variables else ():
            tokens.extend(_wild_tokens(text[pos : match.start()]))
            tokens.append(_variable(match.group(1), text))
            pos = match.end()
        tokens.extend(_wild_tokens(text[pos:]))
        return cls(text, tuple(_merge_literals(tokens)))

    @property
    def has_variables(self) -> bool:
        """True when the pattern holds a variable that needs the request to resolve."""
        return any(isinstance(t, _Var) for t in self.tokens)

    def resolve(self, context: Context) -> tuple[str | _Wild, ...] | None:
        """Substitute variables; None when one has no value and no default.

        AWS: a variable whose key is missing is "effectively null. There is no equal
        or like value" — so the caller treats None as "matches nothing".
        """
        out: list[str | _Wild] = []
        for token in self.tokens:
            if isinstance(token, _Var):
                value = context.single(token.key)
                value = token.default if value is None else value
                if value is None:
                    return None
                out.append(value)
            else:
                out.append(token)
        return tuple(out)

    def literal(self, context: Context) -> str | None:
        """Return the text with variables resolved and wildcards as plain characters."""
        resolved = self.resolve(context)
        if resolved is None:
            return None
        return "".join(t.value if isinstance(t, _Wild) else t for t in resolved)

    def matches(self, value: str, context: Context, *, ignore_case: bool = False) -> bool:
        """Return True when ``value`` matches the whole pattern (``*`` any run, ``?`` one char)."""
        resolved = self.resolve(context)
        if resolved is None:
            return False
        return _compiled(_regex_source(resolved), ignore_case).fullmatch(value) is not None


def _wild_tokens(text: str) -> Iterator[str | _Wild]:
    for char in text:
        yield _Wild(char) if char in "*?" else char


def _merge_literals(tokens: Iterable[_Token]) -> Iterable[_Token]:
    buffer: list[str] = []
    for token in tokens:
        if isinstance(token, str):
            buffer.append(token)
            continue
        if buffer:
            yield "".join(buffer)
            buffer.clear()
        yield token
    if buffer:
        yield "".join(buffer)


def _variable(body: str, text: str) -> str | _Var:
    if body in _ESCAPES:
        return _ESCAPES[body]  # a literal '*', '?' or '$' that must not act as a wildcard
    match = _VAR_BODY_RE.fullmatch(body)
    if match is None:
        raise ConditionSyntaxError(
            f"policy variable '${{{body}}}' in {text!r} is malformed: write ${{key}} or "
            f"${{key, 'default'}} (and ${{*}}, ${{?}}, ${{$}} for literal characters)"
        )
    default = match.group(2)
    return _Var(match.group(1), None if default is None else default.replace("''", "'"))


def _regex_source(tokens: Iterable[str | _Wild]) -> str:
    parts = []
    for token in tokens:
        if token is _Wild.ANY:
            parts.append(".*")
        elif token is _Wild.ONE:
            parts.append(".")
        else:
            parts.append(re.escape(str(token)))
    return "".join(parts)


@functools.lru_cache(maxsize=4096)
def _compiled(source: str, ignore_case: bool) -> re.Pattern[str]:
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(source, flags)


def glob_matches(pattern: str, value: str, *, ignore_case: bool) -> bool:
    """Match ``value`` against a wildcard-only pattern (actions: no variables).

    >>> glob_matches("s3:Get*", "S3:GETOBJECT", ignore_case=True)
    True
    """
    return _glob(pattern, ignore_case).fullmatch(value) is not None


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return _compiled(_regex_source(_wild_tokens(pattern)), ignore_case)


def arn_matches(pattern: Pattern, arn: str, context: Context) -> bool:
    """ArnLike/ArnEquals: each of the six colon-separated ARN parts matches on its own.

    AWS: "Each of the six colon-delimited components of the ARN is checked separately
    and each can include multi-character match wildcards (*) or single-character match
    wildcards (?)". The sixth part (the resource) keeps any further colons.
    """
    resolved = pattern.resolve(context)
    if resolved is None:
        return False
    value_parts = arn.split(":", 5)
    pattern_parts = _split_tokens(resolved, 6)
    if len(pattern_parts) != 6:  # not an ARN pattern ("*"): match the whole string
        return _compiled(_regex_source(resolved), False).fullmatch(arn) is not None
    if len(value_parts) != 6:
        return False
    return all(
        _compiled(_regex_source(p), False).fullmatch(v) is not None
        for p, v in zip(pattern_parts, value_parts, strict=True)
    )


def _split_tokens(tokens: Iterable[str | _Wild], parts: int) -> list[list[str | _Wild]]:
    out: list[list[str | _Wild]] = [[]]
    for token in tokens:
        if isinstance(token, _Wild):
            out[-1].append(token)
            continue
        pieces = token.split(":", parts - len(out)) if len(out) < parts else [token]
        out[-1].append(pieces[0])
        out.extend([piece] for piece in pieces[1:])
    return out


# -- operators -----------------------------------------------------------------------------


Family = Literal["string", "numeric", "date", "bool", "binary", "ip", "arn", "null"]
_Compare = Callable[[Any, Any], bool]


@dataclass(frozen=True)
class _Operator:
    family: Family
    negated: bool
    compare: _Compare


def _eq(a: Any, b: Any) -> bool:
    return bool(a == b)


def _lt(a: Any, b: Any) -> bool:
    return bool(a < b)


def _le(a: Any, b: Any) -> bool:
    return bool(a <= b)


def _gt(a: Any, b: Any) -> bool:
    return bool(a > b)


def _ge(a: Any, b: Any) -> bool:
    return bool(a >= b)


def _ordered(family: Family, prefix: str) -> dict[str, _Operator]:
    return {
        f"{prefix}Equals": _Operator(family, False, _eq),
        f"{prefix}NotEquals": _Operator(family, True, _eq),
        f"{prefix}LessThan": _Operator(family, False, _lt),
        f"{prefix}LessThanEquals": _Operator(family, False, _le),
        f"{prefix}GreaterThan": _Operator(family, False, _gt),
        f"{prefix}GreaterThanEquals": _Operator(family, False, _ge),
    }


OPERATORS: dict[str, _Operator] = {
    # String comparisons: the compare function is chosen per mode in _matches_string.
    "StringEquals": _Operator("string", False, _eq),
    "StringNotEquals": _Operator("string", True, _eq),
    "StringEqualsIgnoreCase": _Operator("string", False, _eq),
    "StringNotEqualsIgnoreCase": _Operator("string", True, _eq),
    "StringLike": _Operator("string", False, _eq),
    "StringNotLike": _Operator("string", True, _eq),
    **_ordered("numeric", "Numeric"),
    **_ordered("date", "Date"),
    "Bool": _Operator("bool", False, _eq),
    "BinaryEquals": _Operator("binary", False, _eq),
    "IpAddress": _Operator("ip", False, _eq),
    "NotIpAddress": _Operator("ip", True, _eq),
    "ArnEquals": _Operator("arn", False, _eq),
    "ArnLike": _Operator("arn", False, _eq),
    "ArnNotEquals": _Operator("arn", True, _eq),
    "ArnNotLike": _Operator("arn", True, _eq),
    "Null": _Operator("null", False, _eq),
}
"""Every base condition operator AWS documents (each also takes ``IfExists``, except Null)."""

_BY_FOLDED = {name.casefold(): name for name in OPERATORS}


@dataclass(frozen=True)
class Condition:
    """One ``"Operator": {"key": values}`` pair of a statement's ``Condition`` block.

    Attributes:
        operator: The operator as written, e.g. ``ForAnyValue:StringLikeIfExists``.
        base: The canonical base operator, e.g. ``StringLike``.
        qualifier: ``ForAllValues``, ``ForAnyValue`` or ``""``.
        if_exists: True for the ``…IfExists`` form.
        key: The condition key as written (compared case-insensitively).
        values: The policy values, parsed for the operator's family.
    """

    operator: str
    base: str
    qualifier: Qualifier
    if_exists: bool
    key: str
    values: tuple[Any, ...]

    @property
    def negated(self) -> bool:
        """True for the negated matching operators (StringNotEquals, NotIpAddress, …)."""
        return OPERATORS[self.base].negated

    def holds(self, context: Context) -> bool:
        """Evaluate this condition against a request context."""
        spec = OPERATORS[self.base]
        present = context.get(self.key)
        if spec.family == "null":
            # Null: "true" means the key is absent, "false" that it is present.
            return (present is None) in self.values
        if present is None:
            return self._missing()
        hits = [self._matches(value, spec, context) for value in present]
        if self.qualifier == "ForAllValues":
            return all(hit != spec.negated for hit in hits)
        if self.qualifier == "ForAnyValue":
            return any(hit != spec.negated for hit in hits)
        # Several policy values OR together; a negated operator is the NOR of them
        # ("Conditions with multiple context keys or values").
        return any(hits) != spec.negated

    def _missing(self) -> bool:
        # So a negated operator on a missing key is TRUE (StringNotEquals included).
        # docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html,
        # "Important": "If the key that you specify in a policy condition is not present in
        # the request context, the values do not match and the condition is false. If the
        # policy condition requires that the key is not matched, such as StringNotLike or
        # ArnNotLike, and the right key is not present, the condition is true. This logic
        # applies to all condition operators except ...IfExists and Null check."
        # …IfExists on a missing key is true. Set operators (…/reference_policies_condition-
        # single-vs-multi-valued-context-keys.html): ForAllValues "also returns true if there
        # are no context keys in the request"; ForAnyValue needs one matching value: false.
        if self.if_exists or self.qualifier == "ForAllValues":
            return True
        if self.qualifier == "ForAnyValue":
            return False
        return self.negated

    def _matches(self, raw: str, spec: _Operator, context: Context) -> bool:
        """True when one request value matches any policy value (before negation)."""
        if spec.family == "string":
            return any(self._matches_string(raw, v, context) for v in self.values)
        if spec.family == "arn":
            return any(arn_matches(v, raw, context) for v in self.values)
        value = _REQUEST_PARSERS[spec.family](raw)
        if value is None:
            return False  # a request value that is not a number/date/IP matches nothing
        if spec.family == "ip":
            return any(value in network for network in self.values)
        return any(spec.compare(value, v) for v in self.values)

    def _matches_string(self, raw: str, pattern: Pattern, context: Context) -> bool:
        if self.base in ("StringLike", "StringNotLike"):
            return pattern.matches(raw, context)
        text = pattern.literal(context)
        if text is None:
            return False
        if self.base.endswith("IgnoreCase"):
            return raw.casefold() == text.casefold()
        return raw == text


# -- parsing values ------------------------------------------------------------------------


def parse_date(raw: str) -> datetime | None:
    """Parse an ISO 8601 date/time or epoch seconds to an aware UTC datetime.

    >>> parse_date("2020-04-01T00:00:00Z") == parse_date("1585699200")
    True
    """
    text = raw.strip()
    try:
        if re.fullmatch(r"-?\d+(?:\.\d+)?", text):
            return datetime.fromtimestamp(float(text), UTC)
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _parse_number(raw: str) -> Decimal | None:
    try:
        number = Decimal(raw.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _parse_bool(raw: str) -> bool | None:
    return {"true": True, "false": False}.get(raw.strip().lower())


def _parse_binary(raw: str) -> bytes:
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return raw.encode("utf-8")


def _parse_ip(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(raw.strip())
    except ValueError:
        return None


_REQUEST_PARSERS: dict[Family, Callable[[str], Any]] = {
    "numeric": _parse_number,
    "date": parse_date,
    "bool": _parse_bool,
    "binary": _parse_binary,
    "ip": _parse_ip,
}


def _policy_value(family: Family, raw: str, *, variables: bool) -> Any:
    """Parse one policy value for ``family``; raise ConditionSyntaxError when it cannot be."""
    if family in ("string", "arn"):
        return Pattern.parse(raw, variables=variables)
    if family in ("bool", "null"):
        parsed = _parse_bool(raw)
        if parsed is None:
            raise ConditionSyntaxError(f"value {raw!r} is not true or false")
        return parsed
    if family == "ip":
        try:
            return ipaddress.ip_network(raw.strip(), strict=False)
        except ValueError:
            raise ConditionSyntaxError(
                f"value {raw!r} is not an IP address or CIDR range"
            ) from None
    if family == "binary":
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise ConditionSyntaxError(f"value {raw!r} is not base-64 encoded") from None
    parsed_value = _parse_number(raw) if family == "numeric" else parse_date(raw)
    if parsed_value is None:
        kind = "a number" if family == "numeric" else "an ISO 8601 date or epoch seconds"
        raise ConditionSyntaxError(f"value {raw!r} is not {kind}")
    return parsed_value


def _split_operator(written: str) -> tuple[str, Qualifier, bool]:
    """Return (base operator, qualifier, if_exists) or raise for an unknown operator."""
    qualifier: Qualifier = ""
    name = written
    prefix, sep, rest = written.partition(":")
    if sep:
        folded = prefix.casefold()
        if folded == "forallvalues":
            qualifier = "ForAllValues"
        elif folded == "foranyvalue":
            qualifier = "ForAnyValue"
        else:
            raise ConditionSyntaxError(
                f"unknown set operator {prefix!r} in {written!r}: use ForAllValues: or ForAnyValue:"
            )
        name = rest
    if_exists = name.casefold().endswith("ifexists")
    stem = name[: -len("IfExists")] if if_exists else name
    base = _BY_FOLDED.get(stem.casefold())
    if base is None:
        raise ConditionSyntaxError(f"unknown condition operator {written!r}{_did_you_mean(stem)}")
    if base == "Null" and (if_exists or qualifier):
        raise ConditionSyntaxError(f"{written!r}: Null takes neither IfExists nor a set operator")
    return base, qualifier, if_exists


def _did_you_mean(name: str) -> str:
    close = difflib.get_close_matches(name, list(OPERATORS), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _as_values(raw: object) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise ConditionSyntaxError("empty list of values")
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            out.append(str(item))
        else:
            raise ConditionSyntaxError(
                f"a value of type {type(item).__name__}: use strings, numbers or booleans"
            )
    return out


def parse_condition_block(block: object, *, variables: bool) -> tuple[Condition, ...]:
    """Parse a statement's ``Condition`` element into conditions (all must hold).

    Args:
        block: The ``Condition`` value: ``{operator: {key: value | [values]}}``.
        variables: Whether policy variables are recognised (``Version`` 2012-10-17).

    Returns:
        One :class:`Condition` per operator and key, in document order.

    Raises:
        ConditionSyntaxError: An unknown operator, a malformed value or shape.
    """
    if not isinstance(block, Mapping):
        raise ConditionSyntaxError("Condition must be an object of {operator: {key: values}}")
    out: list[Condition] = []
    for written, keys in block.items():
        base, qualifier, if_exists = _split_operator(str(written))
        if not isinstance(keys, Mapping) or not keys:
            raise ConditionSyntaxError(f"{written!r} must map condition keys to values")
        family = OPERATORS[base].family
        for key, raw in keys.items():
            where = f"{written} {key!r}"
            try:
                values = tuple(
                    _policy_value(family, v, variables=variables) for v in _as_values(raw)
                )
            except ConditionSyntaxError as exc:
                raise ConditionSyntaxError(f"{where}: {exc}") from None
            out.append(Condition(str(written), base, qualifier, if_exists, str(key), values))
    return tuple(out)
