"""Property tests for ingest keys and partition templates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lakeward import errors
from lakeward.config_models import TIME_PARTITIONS, DatasetConfig
from lakeward.ingest.plan import (
    PartitionTemplate,
    SourceFile,
    discover,
    key_for,
    roots_named_by_template,
)
from lakeward.layout import validate_key, view_parts

NAME = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda n: n not in TIME_PARTITIONS  # their values are checked: year=2023, month=01, …
)
VALUE = st.text(
    st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters="/\\"),
    min_size=1,
    max_size=12,
).filter(lambda v: v not in (".", ".."))
SEGMENT = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_ .+%=-]{0,15}", fullmatch=True).filter(
    lambda s: s not in (".", "..")
)


def dataset(partition_by: list[str]) -> DatasetConfig:
    return DatasetConfig(domain="hr", source="ats", owner="o", partition_by=partition_by)


@given(
    st.dictionaries(NAME, VALUE, min_size=0, max_size=3),
    st.lists(SEGMENT, min_size=1, max_size=4),
)
def test_keys_are_valid_ordered_and_readable(values: dict[str, str], parts: list[str]) -> None:
    names = sorted(values)
    ds = dataset(names)
    root = Path("/data")
    source = SourceFile(root.joinpath(*parts), root)
    key, partitions = key_for(
        ds, source, partitions=values, template=None, ingest_date=date(2024, 1, 2)
    )
    assert validate_key(key) == key
    assert view_parts(key) is not None
    expected = "/".join(["raw/hr/ats", *(f"{n}={values[n]}" for n in names), *parts])
    assert key == expected
    assert partitions == values


@given(st.lists(NAME, min_size=1, max_size=3, unique=True), st.data())
def test_template_round_trip(names: list[str], data: st.DataObject) -> None:
    values = {n: data.draw(SEGMENT, label=n) for n in names}
    named = data.draw(st.booleans(), label="named folders")
    template = PartitionTemplate("/".join(f"{n}={{{n}}}" for n in names) + "/")
    folders = [f"{n}={values[n]}" if named else values[n] for n in names]
    matched = template.match("/".join([*folders, "file.csv"]))
    assert matched == (values, "file.csv")


def test_template_needs_a_field() -> None:
    with pytest.raises(errors.InvalidRequest, match="names no partition"):
        PartitionTemplate("static/")


def test_default_ingest_date_layout() -> None:
    ds = DatasetConfig(domain="hr", source="ats", owner="o")
    source = SourceFile(Path("/in/sub/a.csv"), Path("/in"))
    key, parts = key_for(ds, source, partitions={}, template=None, ingest_date=date(2024, 5, 1))
    assert key == "raw/hr/ats/ingest_date=2024-05-01/sub/a.csv"
    assert parts == {"ingest_date": "2024-05-01"}


def test_discover_dirs_globs_and_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "d" / "2023").mkdir(parents=True)
    (tmp_path / "d" / "2023" / "a.csv").write_text("a")
    (tmp_path / "d" / ".hidden.csv").write_text("h")
    (tmp_path / "d" / "b.json").write_text("b")
    found = discover([tmp_path / "d", str(tmp_path / "d" / "*.json")])
    assert [s.relative for s in found] == ["2023/a.csv", "b.json"]
    with pytest.raises(errors.InvalidRequest, match="matches no file"):
        discover([str(tmp_path / "*.parquet")])
    with pytest.raises(errors.InvalidRequest, match="does not exist"):
        discover([tmp_path / "nope"])


def test_a_partition_folder_given_as_input_names_the_partition(tmp_path: Path) -> None:
    (tmp_path / "data" / "2023").mkdir(parents=True)
    (tmp_path / "data" / "2023" / "a.csv").write_text("a")
    (tmp_path / "data" / "summary.json").write_text("{}")
    ds = dataset(["year"])
    template = PartitionTemplate("{year}/")
    as_folder = discover([tmp_path / "data" / "2023"])
    roots = roots_named_by_template(as_folder, template)
    key, _ = key_for(
        ds,
        as_folder[0],
        partitions={},
        template=template,
        ingest_date=date.today(),
        named_roots=roots,
    )
    assert key == "raw/hr/ats/year=2023/a.csv"
    parent = discover([tmp_path / "data"])
    roots = roots_named_by_template(parent, template)
    assert roots == set()
    summary = next(s for s in parent if s.relative == "summary.json")
    with pytest.raises(errors.InvalidRequest, match="does not fit"):
        key_for(
            ds,
            summary,
            partitions={},
            template=template,
            ingest_date=date.today(),
            named_roots=roots,
        )


@pytest.mark.parametrize(
    ("name", "value"),
    [("year", "data"), ("year", "23"), ("month", "13"), ("day", "00"), ("hour", "24")],
)
def test_time_partitions_must_look_like_time(name: str, value: str) -> None:
    source = SourceFile(Path("/in/a.csv"), Path("/in"))
    with pytest.raises(errors.InvalidRequest, match=f"is not a {name}"):
        key_for(
            dataset([name]),
            source,
            partitions={name: value},
            template=None,
            ingest_date=date.today(),
        )
