from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import lakeward
from lakeward import errors

SRC = Path(__file__).resolve().parents[2] / "src" / "lakeward"


def test_import_is_light_and_fast() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); import lakeward; "
        "print(time.perf_counter() - t); "
        "print(','.join(m for m in ('boto3', 'botocore', 'duckdb', 'pyarrow', 'pydantic', 'yaml') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, heavy = out.stdout.splitlines()
    assert heavy == ""
    assert float(seconds) < 0.3


def test_public_api() -> None:
    assert sorted(lakeward.__all__) == sorted(
        ["BucketStatus", "ConfigError", "Lake", "LakeError", "__version__", "errors", "load_lake"]
    )
    for name in lakeward.__all__:
        assert getattr(lakeward, name) is not None


def test_every_error_descends_from_lake_error() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.LakeError), name
        assert cls.__doc__, name
    assert errors.BackendUnavailable.retryable
    assert not errors.NoSuchKey.retryable


def test_boto3_only_in_aws_modules() -> None:
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in (
                node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
            )
        }
        if imported & {"boto3", "botocore", "mypy_boto3_s3"}:
            assert path.name in {
                "s3.py",
                "_s3_errors.py",
                "_s3_support.py",
                "aws.py",
                "queue_sqs.py",
                "logtable_dynamodb.py",
                "notifications_aws.py",
                "iam_aws.py",
                "glue.py",
                "_glue_shapes.py",
                "s3_source.py",
            }, path


def test_library_never_imports_the_cli() -> None:
    for path in SRC.rglob("*.py"):
        if "cli" in path.relative_to(SRC).parts:
            continue
        assert "lakeward.cli" not in path.read_text(), path


def test_modules_stay_small() -> None:
    for path in SRC.rglob("*.py"):
        assert len(path.read_text().splitlines()) <= 800, path
