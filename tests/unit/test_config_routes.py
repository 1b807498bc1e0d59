from __future__ import annotations

import pytest

from lakeward.config import config_from_dict
from lakeward.errors import ConfigError

BASE = {
    "lake": {"name": "acme"},
    "buckets": {"landing": {"zones": ["raw"]}, "private": {"zones": ["processed"]}},
    "datasets": {"ioc": {"domain": "sec", "source": "app", "owner": "o", "format": "ndjson"}},
}


def config(routes: dict[str, object]) -> object:
    return config_from_dict({**BASE, "routes": routes})


def test_a_valid_route_and_matching() -> None:
    cfg = config_from_dict(
        {
            **BASE,
            "routes": {
                "c": {
                    "bucket": "landing",
                    "prefix": "in/",
                    "suffix": ".csv",
                    "handler": "copy",
                    "options": {"destination_bucket": "private"},
                }
            },
        }
    )
    assert cfg.routes_for("acme-dev-landing", "in/a.csv", "ObjectCreated:Put") == ["c"]
    assert cfg.routes_for("acme-dev-landing", "in/a.json", "ObjectCreated:Put") == []
    assert cfg.routes_for("acme-dev-landing", "in/a.csv", "ObjectRemoved:Delete") == []
    assert cfg.routes_for("acme-dev-private", "in/a.csv", "ObjectCreated:Put") == []


@pytest.mark.parametrize(
    ("route", "path", "message"),
    [
        (
            {"bucket": "landing", "handler": "copy", "options": {}},
            "routes.r.options",
            "needs options.destination_bucket",
        ),
        (
            {
                "bucket": "landing",
                "handler": "copy",
                "options": {"destination_bucket": "private", "dest": 1},
            },
            "routes.r.options.dest",
            "unknown option",
        ),
        (
            {
                "bucket": "landing",
                "handler": "copy",
                "events": ["ObjectCreated:Putt"],
                "options": {"destination_bucket": "private"},
            },
            "routes.r.events[0]",
            "did you mean 'ObjectCreated:Put'",
        ),
        (
            {
                "bucket": "Landing_Zone",
                "handler": "copy",
                "options": {"destination_bucket": "private"},
            },
            "routes.r.bucket",
            "neither a bucket",
        ),
        (
            {
                "bucket": "landing",
                "prefix": "in/",
                "handler": "copy",
                "options": {"destination_bucket": "landing", "destination_prefix": "in/copies/"},
            },
            "routes.r.options.destination_prefix",
            "would trigger another copy",
        ),
        (
            {"bucket": "landing", "handler": "to_parquet", "options": {"dataset": "iocc"}},
            "routes.r.options.dataset",
            "did you mean 'ioc'",
        ),
        (
            {
                "bucket": "landing",
                "handler": "copy",
                "options": {"destination_bucket": "private", "log_table": "bad-name"},
            },
            "routes.r.options.log_table",
            "identifier",
        ),
    ],
)
def test_route_problems(route: dict[str, object], path: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config({"r": route})
    assert any(p.startswith(path) and message in p for p in caught.value.problems), (
        caught.value.problems
    )


def test_a_physical_bucket_outside_the_lake_is_allowed() -> None:
    cfg = config_from_dict(
        {
            **BASE,
            "routes": {
                "c": {
                    "bucket": "public-landing-bucket",
                    "handler": "copy",
                    "options": {"destination_bucket": "private"},
                }
            },
        }
    )
    assert cfg.routes_for("public-landing-bucket", "x", "ObjectCreated:Copy") == ["c"]
