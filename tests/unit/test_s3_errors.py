"""The S3 backend's one translation from botocore / boto3 exceptions to ``LakeError``."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import IO, Any, cast

import boto3
import pytest
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    FlexibleChecksumError,
    IncompleteReadError,
    NoCredentialsError,
    ParamValidationError,
    ProfileNotFound,
    ReadTimeoutError,
)
from botocore.response import StreamingBody
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st
from urllib3.exceptions import ProtocolError

from lakeward import errors
from lakeward.storage import BucketConfigKind, Retention
from lakeward.storage._s3_errors import (
    CONFIG_NOT_FOUND_CODES,
    RETRYABLE_CODES,
    S3Target,
    s3_errors,
    translate_error,
)
from lakeward.storage.s3 import S3ObjectStore

TARGET = S3Target("acme-dev-raw", "raw/a b.csv")
VERSIONED = S3Target("acme-dev-raw", "raw/a b.csv", "v123")


def client_error(
    code: str, status: int = 400, message: str = "", operation: str = "GetObject", **extra: str
) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message, **extra},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


# -- error codes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("NoSuchBucket", 404, errors.NoSuchBucket),
        ("NoSuchKey", 404, errors.NoSuchKey),
        ("NoSuchVersion", 404, errors.NoSuchVersion),
        ("BucketAlreadyExists", 409, errors.BucketAlreadyExists),
        ("BucketAlreadyOwnedByYou", 409, errors.BucketAlreadyExists),
        ("BucketNotEmpty", 409, errors.BucketNotEmpty),
        ("PreconditionFailed", 412, errors.PreconditionFailed),
        ("412", 412, errors.PreconditionFailed),
        ("AccessDenied", 403, errors.AccessDenied),
        ("403", 403, errors.AccessDenied),
        ("InvalidObjectState", 403, errors.InvalidObjectState),
        ("ObjectNotInActiveTierError", 403, errors.InvalidObjectState),
        ("MethodNotAllowed", 405, errors.InvalidObjectState),
        ("405", 405, errors.InvalidObjectState),
        ("BadDigest", 400, errors.ChecksumMismatch),
        ("XAmzContentSHA256Mismatch", 400, errors.ChecksumMismatch),
        ("InvalidDigest", 400, errors.ChecksumMismatch),
        ("InvalidBucketName", 400, errors.InvalidBucketName),
        ("InvalidRequest", 400, errors.InvalidRequest),
        ("InvalidArgument", 400, errors.InvalidRequest),
        ("BadRequest", 400, errors.InvalidRequest),
        ("InvalidBucketState", 409, errors.InvalidRequest),
        ("MalformedXML", 400, errors.InvalidRequest),
        ("SlowDown", 503, errors.BackendUnavailable),
        ("Throttling", 400, errors.BackendUnavailable),
        ("RequestTimeout", 400, errors.BackendUnavailable),
        ("InternalError", 500, errors.BackendUnavailable),
        ("ServiceUnavailable", 503, errors.BackendUnavailable),
        ("503", 503, errors.BackendUnavailable),
        ("SomethingNew", 502, errors.BackendUnavailable),
    ],
)
def test_code_maps_to_the_most_specific_class(
    code: str, status: int, expected: type[errors.LakeError]
) -> None:
    translated = translate_error(client_error(code, status), TARGET)
    assert type(translated) is expected
    assert translated.retryable is (expected is errors.BackendUnavailable)
    assert translated.message


@pytest.mark.parametrize("code", sorted(CONFIG_NOT_FOUND_CODES))
def test_missing_bucket_configuration(code: str) -> None:
    translated = translate_error(client_error(code, 404), S3Target("acme-dev-raw"))
    assert type(translated) is errors.NoSuchConfiguration
    assert "acme-dev-raw" in translated.message
    assert CONFIG_NOT_FOUND_CODES[code] in translated.message


@pytest.mark.parametrize("code", sorted(RETRYABLE_CODES))
def test_transient_codes_are_retryable(code: str) -> None:
    translated = translate_error(client_error(code, 400), TARGET)
    assert isinstance(translated, errors.BackendUnavailable)
    assert translated.retryable


def test_unknown_code_keeps_code_and_message() -> None:
    translated = translate_error(client_error("NewFancyError", 400, "it broke"), TARGET)
    assert type(translated) is errors.LakeError
    assert "NewFancyError" in translated.message
    assert "it broke" in translated.message
    assert "s3://acme-dev-raw/raw/a b.csv" in translated.message
    assert not translated.retryable


# -- HEAD answers without a body: decided by what was addressed ----------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (VERSIONED, errors.NoSuchVersion),
        (TARGET, errors.NoSuchKey),
        (S3Target("acme-dev-raw"), errors.NoSuchBucket),
    ],
)
def test_bare_404(target: S3Target, expected: type[errors.LakeError]) -> None:
    assert type(translate_error(client_error("404", 404, "Not Found"), target)) is expected


def test_bare_400_with_a_version_is_an_unknown_version() -> None:
    assert type(translate_error(client_error("400", 400), VERSIONED)) is errors.NoSuchVersion
    assert type(translate_error(client_error("400", 400), TARGET)) is errors.InvalidRequest


# -- object lock ---------------------------------------------------------------------------


def test_access_denied_deleting_a_version_is_object_locked() -> None:
    translated = translate_error(client_error("AccessDenied", 403), VERSIONED, lock_denial=True)
    assert type(translated) is errors.ObjectLocked
    assert "raw/a b.csv" in translated.message
    assert "v123" in translated.message
    assert "bypass_governance" in translated.message


def test_access_denied_without_version_stays_access_denied() -> None:
    translated = translate_error(client_error("AccessDenied", 403), TARGET, lock_denial=True)
    assert type(translated) is errors.AccessDenied


@pytest.mark.parametrize(
    "message",
    ["Bucket is missing Object Lock Configuration", "Bucket is missing ObjectLockConfiguration"],
)
def test_retention_without_object_lock(message: str) -> None:
    translated = translate_error(client_error("InvalidRequest", 400, message), TARGET)
    assert type(translated) is errors.InvalidRetention
    assert "object lock" in translated.message


# -- messages say what and what to do ------------------------------------------------------


def test_messages_name_the_fix() -> None:
    missing = translate_error(client_error("NoSuchBucket", 404), S3Target("acme-dev-raw"))
    assert "'acme-dev-raw'" in missing.message
    assert "lakeward init" in missing.message
    archived = translate_error(
        client_error("InvalidObjectState", 403, StorageClass="GLACIER"), TARGET
    )
    assert "GLACIER" in archived.message
    assert "lakeward restore" in archived.message
    marker = translate_error(client_error("405", 405), VERSIONED)
    assert "delete marker" in marker.message


def test_bucket_name_from_the_error_body_when_no_target() -> None:
    translated = translate_error(client_error("NoSuchBucket", 404, BucketName="other-bucket"))
    assert "'other-bucket'" in translated.message


# -- botocore and boto3 exceptions that are not ClientError --------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        EndpointConnectionError(endpoint_url="https://s3.example"),
        ConnectTimeoutError(endpoint_url="https://s3.example"),
        ReadTimeoutError(endpoint_url="https://s3.example"),
        ConnectionClosedError(endpoint_url="https://s3.example"),
        IncompleteReadError(actual_bytes=1, expected_bytes=2),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_connection_errors_are_retryable(exc: BotoCoreError) -> None:
    translated = translate_error(exc, TARGET)
    assert type(translated) is errors.BackendUnavailable
    assert translated.retryable
    assert "retry" in translated.message


@pytest.mark.parametrize(
    "exc",
    [NoCredentialsError(), ProfileNotFound(profile="nope")],
    ids=lambda exc: type(exc).__name__,
)
def test_credential_problems_are_config_errors(exc: BotoCoreError) -> None:
    translated = translate_error(exc, TARGET)
    assert isinstance(translated, errors.ConfigError)
    assert "aws configure" in translated.message
    assert not translated.retryable


def test_other_botocore_errors() -> None:
    invalid = translate_error(ParamValidationError(report="Bucket is required"), TARGET)
    assert type(invalid) is errors.InvalidRequest
    damaged = translate_error(FlexibleChecksumError(error_msg="crc32 mismatch"), TARGET)
    assert type(damaged) is errors.ChecksumMismatch
    generic = translate_error(BotoCoreError(), TARGET)
    assert type(generic) is errors.LakeError


def test_upload_failed_error_is_translated_from_its_context() -> None:
    # boto3's upload_file raises S3UploadFailedError inside ``except ClientError``.
    try:
        try:
            raise client_error("NoSuchBucket", 404)
        except ClientError as exc:
            raise S3UploadFailedError(f"Failed to upload: {exc}")  # noqa: B904
    except S3UploadFailedError as wrapped:
        assert type(translate_error(wrapped, TARGET)) is errors.NoSuchBucket


def test_lake_errors_pass_through() -> None:
    original = errors.NoSuchKey("gone")
    assert translate_error(original, TARGET) is original


# -- the context manager ---------------------------------------------------------------------


def test_s3_errors_raises_from_the_original() -> None:
    original = client_error("NoSuchKey", 404)
    with pytest.raises(errors.NoSuchKey) as caught, s3_errors(TARGET):
        raise original
    assert caught.value.__cause__ is original


def test_s3_errors_leaves_other_exceptions_alone() -> None:
    with pytest.raises(ValueError, match="not boto"), s3_errors(TARGET):
        raise ValueError("not boto")
    with pytest.raises(errors.PreconditionFailed), s3_errors(TARGET):
        raise errors.PreconditionFailed("ours")


@given(
    code=st.text(max_size=40),
    status=st.integers(min_value=0, max_value=599),
    message=st.text(max_size=80),
    version=st.none() | st.text(min_size=1, max_size=10),
)
def test_any_client_error_becomes_a_lake_error(
    code: str, status: int, message: str, version: str | None
) -> None:
    target = S3Target("acme-dev-raw", "k", version)
    with pytest.raises(errors.LakeError) as caught, s3_errors(target, lock_denial=True):
        raise client_error(code, status, message)
    assert caught.value.message
    assert caught.value.retryable is isinstance(caught.value, errors.BackendUnavailable)


# -- no raw botocore exception escapes a public method ---------------------------------------


def _unreachable_store() -> S3ObjectStore:
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=1)
    client = boto3.client(
        "s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:1", config=config
    )
    return S3ObjectStore(client)


PUBLIC_CALLS: dict[str, Any] = {
    "create_bucket": lambda s: s.create_bucket("acme-dev-raw"),
    "delete_bucket": lambda s: s.delete_bucket("acme-dev-raw"),
    "list_buckets": lambda s: s.list_buckets(),
    "bucket_exists": lambda s: s.bucket_exists("acme-dev-raw"),
    "get_bucket_config": lambda s: s.get_bucket_config("acme-dev-raw", BucketConfigKind.POLICY),
    "put_bucket_config": lambda s: s.put_bucket_config(
        "acme-dev-raw", BucketConfigKind.TAGGING, {"TagSet": []}
    ),
    "put": lambda s: s.put("acme-dev-raw", "k", b"x"),
    "head": lambda s: s.head("acme-dev-raw", "k"),
    "get": lambda s: s.get("acme-dev-raw", "k"),
    "list": lambda s: s.list("acme-dev-raw"),
    "list_versions": lambda s: s.list_versions("acme-dev-raw"),
    "delete": lambda s: s.delete("acme-dev-raw", "k", version_id="v1"),
    "copy": lambda s: s.copy("acme-dev-raw", "k", "acme-dev-raw", "k2"),
    "get_tags": lambda s: s.get_tags("acme-dev-raw", "k"),
    "put_tags": lambda s: s.put_tags("acme-dev-raw", "k", {"a": "b"}),
    "put_retention": lambda s: s.put_retention("acme-dev-raw", "k", None),
    "put_legal_hold": lambda s: s.put_legal_hold("acme-dev-raw", "k", True),
    "restore": lambda s: s.restore("acme-dev-raw", "k", days=1),
}


@pytest.mark.parametrize("call", list(PUBLIC_CALLS.values()), ids=list(PUBLIC_CALLS))
def test_unreachable_endpoint_is_backend_unavailable(call: Any) -> None:
    with _unreachable_store() as store, pytest.raises(errors.BackendUnavailable) as caught:
        call(store)
    assert caught.value.retryable
    assert isinstance(caught.value.__cause__, BotoCoreError | errors.BackendUnavailable)


def test_head_404_names_the_missing_bucket() -> None:
    client = boto3.client("s3", region_name="us-east-1")
    store = S3ObjectStore(client)
    with Stubber(client) as stub:
        stub.add_client_error("head_object", "404", http_status_code=404)
        stub.add_response("head_bucket", {})
        with pytest.raises(errors.NoSuchKey):
            store.head("acme-dev-raw", "k")
        stub.add_client_error("head_object", "404", http_status_code=404)
        stub.add_client_error("head_bucket", "404", http_status_code=404)
        with pytest.raises(errors.NoSuchBucket, match="lakeward init"):
            store.head("acme-dev-raw", "k")


class _BrokenRaw(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        raise ProtocolError("connection reset by peer")


def test_read_errors_of_a_body_are_translated() -> None:
    client = boto3.client("s3", region_name="us-east-1")
    store = S3ObjectStore(client)
    body = StreamingBody(cast(IO[bytes], _BrokenRaw()), 10)
    with Stubber(client) as stub:
        stub.add_response(
            "get_object",
            {"Body": body, "ContentLength": 10, "LastModified": datetime(2024, 1, 1, tzinfo=UTC)},
        )
        opened = store.get("acme-dev-raw", "k")
    with pytest.raises(errors.BackendUnavailable):
        opened.read()


def test_retention_on_a_bucket_without_object_lock() -> None:
    client = boto3.client("s3", region_name="us-east-1")
    store = S3ObjectStore(client)
    with Stubber(client) as stub:
        stub.add_response("head_object", {"LastModified": datetime(2024, 1, 1, tzinfo=UTC)})
        stub.add_client_error(
            "put_object_retention",
            "InvalidRequest",
            "Bucket is missing Object Lock Configuration",
            http_status_code=400,
        )
        far = Retention("GOVERNANCE", datetime(2999, 1, 1, tzinfo=UTC))
        with pytest.raises(errors.InvalidRetention, match="object lock"):
            store.put_retention("acme-dev-raw", "k", far)
