from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lakeward import errors
from lakeward.layout import (
    hive_segment,
    parse_s3_uri,
    validate_bucket_name,
    validate_key,
    view_parts,
)
from lakeward.storage._local_listing import prefix_successor


@pytest.mark.parametrize("name", ["abc", "acme-dev-raw", "a.b.c", "x" * 63, "0abc9"])
def test_valid_bucket_names(name: str) -> None:
    assert validate_bucket_name(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("ab", "length"),
        ("x" * 64, "length"),
        ("Acme", "lowercase"),
        ("a_b", "lowercase"),
        ("-ab", "lowercase"),
        ("a..b", "adjacent"),
        ("a.-b", "adjacent"),
        ("10.0.0.1", "IP address"),
        ("xn--abc", "reserved"),
        ("abc-s3alias", "reserved"),
    ],
)
def test_invalid_bucket_names_say_why(name: str, why: str) -> None:
    with pytest.raises(errors.InvalidBucketName, match=why):
        validate_bucket_name(name)


def test_key_rules() -> None:
    assert validate_key("a/../../etc/passwd") == "a/../../etc/passwd"
    with pytest.raises(errors.InvalidKey, match="1024"):
        validate_key("é" * 513)
    with pytest.raises(errors.InvalidKey, match="NUL"):
        validate_key("a\x00b")
    with pytest.raises(errors.InvalidKey, match="UTF-8"):
        validate_key("bad\udc80surrogate")
    with pytest.raises(errors.InvalidKey):
        validate_key("")


@pytest.mark.parametrize(
    "key", ["../x", "a/../b", "/abs", "a//b", "a/", ".", "./a", "a/" + "x" * 256]
)
def test_keys_that_cannot_be_paths(key: str) -> None:
    assert view_parts(key) is None


@given(st.text(min_size=1, max_size=60).filter(lambda k: "\x00" not in k))
def test_view_parts_never_escape(key: str) -> None:
    parts = view_parts(key)
    if parts is not None:
        assert all(p not in ("", ".", "..") for p in parts)
        assert "/".join(parts) == key


@given(st.text(min_size=1, max_size=8), st.text(max_size=8))
def test_prefix_successor_bounds_every_extension(prefix: str, tail: str) -> None:
    succ = prefix_successor(prefix)
    if succ is not None:
        assert (prefix + tail).encode("utf-8", "surrogatepass") < succ.encode(
            "utf-8", "surrogatepass"
        )
        assert prefix < succ


def test_s3_uris() -> None:
    assert parse_s3_uri("s3://b/k/with space+plus%").key == "k/with space+plus%"
    assert parse_s3_uri("s3://b").key == ""
    with pytest.raises(errors.InvalidRequest, match="s3://BUCKET"):
        parse_s3_uri("/local/path")
    with pytest.raises(errors.InvalidRequest, match="no bucket"):
        parse_s3_uri("s3:///key")


def test_hive_segment() -> None:
    assert hive_segment("year", "2023") == "year=2023"
    with pytest.raises(errors.InvalidRequest):
        hive_segment("bad name", "x")
    with pytest.raises(errors.InvalidRequest):
        hive_segment("year", "20/23")
