from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakeward import Lake
from lakeward.examples import ioc_assessments

EXAMPLE = Path(ioc_assessments.__file__).with_suffix(".yaml")


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lake]:
    monkeypatch.setenv("IOC_SALT", "test-salt")
    shutil.copyfile(EXAMPLE, tmp_path / "lakeward.yaml")
    ioc_assessments.generate(tmp_path / "data", events=100, files=2)
    with Lake.open(tmp_path / "lakeward.yaml", environ={}) as opened:
        opened.init()
        assert opened.ingest(
            tmp_path / "data", dataset="ioc_assessments", ingest_date="2024-03-01"
        ).ok
        yield opened


def test_partitions_are_registered_as_objects_land(lake: Lake) -> None:
    first = lake.run_worker()  # raw files: to_parquet + catalog (raw table)
    second = lake.run_worker()  # the Parquet outputs' events: catalog (parquet table)
    assert first.dead == second.dead == 0
    database = lake.config.catalog_database
    assert lake.catalog.list_tables(database) == ["ioc_assessments", "ioc_assessments_parquet"]
    raw = lake.catalog.get_partitions(database, "ioc_assessments")
    assert [p.values for p in raw] == [("2024-03-01",)]
    parquet = lake.catalog.get_table(database, "ioc_assessments_parquet")
    assert parquet.format == "parquet" and parquet.location.endswith("/processed/ioc_assessments/")
    months = lake.catalog.get_partitions(database, "ioc_assessments_parquet")
    assert [p.values for p in months] == [("2024", "02"), ("2024", "03")]
    assert months[0].location.endswith("/processed/ioc_assessments/year=2024/month=02/")
    march = lake.catalog.get_partitions(database, "ioc_assessments_parquet", "month = '03'")
    assert [p.values for p in march] == [("2024", "03")]
    assert lake.run_worker().processed == 0  # nothing new


def test_replaying_catalog_events_changes_nothing(lake: Lake) -> None:
    lake.run_worker()
    lake.run_worker()
    database = lake.config.catalog_database
    before = lake.catalog.get_partitions(database, "ioc_assessments_parquet")
    from lakeward.events.handlers import HandlerContext
    from lakeward.events.handlers.catalog import handle
    from lakeward.events.model import Event

    route = lake.config.routes["ioc_parquet_catalog"]
    context = HandlerContext(lake, "ioc_parquet_catalog", route, lake.log_table)
    key = before[0].location.split("/", 3)[3] + "x.parquet"
    event = Event(
        "ObjectCreated:Put", lake.config.physical_bucket("lake"), key, 1, "", None, "1", ""
    )
    assert handle(context, event).startswith("already registered")
    assert lake.catalog.get_partitions(database, "ioc_assessments_parquet") == before
