"""AWS plumbing of the event layer: names, clients, error translation, S3 → SQS notifications.

On an ``s3://`` lake, S3 itself sends object events to the lake's SQS queue:
:func:`configure_notifications` gives every route's bucket one ``QueueConfiguration`` per
route (``Id`` = the route name, which S3 puts in each record's ``configurationId``) and lets
those buckets send to the queue through the queue policy. :mod:`lakeward.events.queue_sqs`
and :mod:`lakeward.events.logtable_dynamodb` build their clients with :func:`aws_clients` and
run every boto3 call inside :func:`aws_errors`, so no raw botocore exception leaves them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, cast

import boto3
from boto3.exceptions import Boto3Error
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
)

from lakeward.errors import (
    AccessDenied,
    BackendUnavailable,
    ConfigError,
    Conflict,
    InvalidRequest,
    LakeError,
    NoSuchBucket,
    NotFound,
)
from lakeward.storage._s3_errors import transport_error

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import NotificationConfigurationTypeDef
    from mypy_boto3_sqs import SQSClient

    from lakeward.config_models import LakeConfig, Route
    from lakeward.events import EventResource

__all__ = [
    "NOTIFICATION_SID",
    "Service",
    "aws_clients",
    "aws_errors",
    "configure_notifications",
    "error_codes",
    "is_stale_receipt",
    "log_table_name",
    "queue_names",
    "translate_aws_error",
]

Service = Literal["s3", "sqs", "dynamodb", "iam"]
NOTIFICATION_SID = "lakeward-s3-notifications"
"""``Sid`` of the queue-policy statement lakeward owns (other statements are kept)."""

_NOT_FOUND = frozenset({"QueueDoesNotExist", "NonExistentQueue", "ResourceNotFoundException"})
_STALE_RECEIPT = frozenset({"ReceiptHandleIsInvalid", "MessageNotInflight"})
_CONFLICT = frozenset(
    {
        "QueueAlreadyExists",
        "QueueNameExists",
        "QueueDeletedRecently",
        "ResourceInUseException",
        "TransactionConflictException",
        "OperationAborted",
    }
)
_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AuthorizationError",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidSecurity",
        "KmsAccessDenied",
    }
)
_RETRYABLE = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "OverLimit",
        "SlowDown",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "RequestTimeout",
        "KmsThrottled",
    }
)
_INVALID = frozenset(
    {
        "ValidationException",
        "InvalidParameterValue",
        "InvalidParameterValueException",
        "InvalidAttributeName",
        "InvalidAttributeValue",
        "InvalidMessageContents",
        "MissingParameter",
        "UnsupportedOperation",
        "InvalidArgument",
        "MalformedXML",
        "InvalidAddress",
        "BatchEntryIdsNotDistinct",
        "TooManyEntriesInBatchRequest",
        "SerializationException",
        "InvalidBatchEntryId",
    }
)


# -- names and clients -----------------------------------------------------------------------


def queue_names(config: LakeConfig) -> tuple[str, str]:
    """The lake's event queue and its dead-letter queue: ``{lake}-{env}-events[-dlq]``.

    >>> from lakeward.config import config_from_dict
    >>> queue_names(config_from_dict({"lake": {"name": "acme"}}))
    ('acme-dev-events', 'acme-dev-events-dlq')
    """
    base = f"{config.lake.name}-{config.lake.environment}-events"
    return base, f"{base}-dlq"


def log_table_name(config: LakeConfig, name: str) -> str:
    """The DynamoDB table of log table ``name``: ``{lake}-{env}-{name}``.

    >>> from lakeward.config import config_from_dict
    >>> log_table_name(config_from_dict({"lake": {"name": "acme"}}), "copy_log")
    'acme-dev-copy_log'
    """
    return f"{config.lake.name}-{config.lake.environment}-{name}"


def aws_clients(
    options: Mapping[str, Any],
    services: Sequence[Service],
    given: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """One boto3 client per service: the ``given`` one, else built from the backend options.

    Clients are built the way :meth:`lakeward.storage.s3.S3ObjectStore.from_uri` builds its
    own: one session (``profile``, ``region``), adaptive retries, ``endpoint_url`` for every
    service (path-style addressing for S3 then).

    Args:
        options: ``config.backend.store_options()`` (region, profile, endpoint_url).
        services: The services wanted.
        given: Ready clients by service name (tests pass moto's); they are not rebuilt.

    Returns:
        The clients by service name, and the names of those built here (the caller closes
        those when done).

    Raises:
        ConfigError: The profile does not exist or the AWS configuration is invalid.
    """
    clients: dict[str, Any] = {name: given[name] for name in services if given and name in given}
    missing: list[str] = [name for name in services if name not in clients]
    if not missing:
        return clients, []
    endpoint_url = options.get("endpoint_url")
    with aws_errors("AWS"):
        session = boto3.Session(
            profile_name=options.get("profile"), region_name=options.get("region")
        )
        for name in missing:
            s3_settings: dict[str, Any] = {"addressing_style": "path"} if endpoint_url else {}
            config = Config(
                retries={"mode": "adaptive", "max_attempts": 10},
                s3=cast(Any, s3_settings) if name == "s3" and s3_settings else None,
            )
            clients[name] = session.client(
                cast("Service", name), endpoint_url=endpoint_url, config=config
            )
    return clients, missing


# -- errors ------------------------------------------------------------------------------------


def error_codes(exc: ClientError) -> frozenset[str]:
    """The codes of an AWS error, without SQS's ``AWS.SimpleQueueService.`` style prefixes.

    >>> err = ClientError(
    ...     {"Error": {"Code": "AWS.SimpleQueueService.NonExistentQueue",
    ...                "QueryErrorCode": "QueueDoesNotExist"}}, "GetQueueUrl")
    >>> sorted(error_codes(err))
    ['AWS.SimpleQueueService.NonExistentQueue', 'NonExistentQueue', 'QueueDoesNotExist']
    """
    error = exc.response.get("Error", {})
    codes = {str(error.get("Code", "")), str(error.get("QueryErrorCode", ""))}
    codes |= {code.rpartition(".")[2] for code in codes}
    return frozenset(code for code in codes if code)


def is_stale_receipt(exc: ClientError) -> bool:
    """Whether SQS refused a receipt handle: unknown, expired, or its message not in flight."""
    codes = error_codes(exc)
    if codes & _STALE_RECEIPT:
        return True
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return "InvalidParameterValue" in codes and "receipt" in message


@contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """Run boto3 calls, translating their exceptions into ``LakeError``.

    Args:
        what: What the calls address, named in messages (e.g. ``SQS queue acme-dev-events``).

    Raises:
        LakeError: The translation of any botocore or boto3 exception.
    """
    try:
        yield
    except (ClientError, BotoCoreError, Boto3Error) as exc:
        raise translate_aws_error(exc, what) from exc


def translate_aws_error(exc: BaseException, what: str) -> LakeError:
    """Return the most specific ``LakeError`` for a botocore/boto3 exception of SQS or DynamoDB.

    Throttling, 5xx and connection failures become ``BackendUnavailable`` (retryable).

    >>> err = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "PutItem")
    >>> type(translate_aws_error(err, "DynamoDB table t")).__name__
    'BackendUnavailable'
    """
    if isinstance(exc, LakeError):
        return exc
    if isinstance(exc, ClientError):
        return _translate_client_error(exc, what)
    return transport_error(exc, what) or LakeError(f"AWS client error for {what}: {exc}")


def _translate_client_error(exc: ClientError, what: str) -> LakeError:
    codes = error_codes(exc)
    error = exc.response.get("Error", {})
    message = str(error.get("Message", "")) or str(error.get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if "NoSuchBucket" in codes:
        return NoSuchBucket(f"{what}: the bucket does not exist: create it with `lakeward init`")
    if codes & _NOT_FOUND:
        return NotFound(
            f"{what} does not exist ({message}): open the lake's event queue or log table first"
        )
    if codes & _DENIED:
        return AccessDenied(
            f"access denied to {what} ({message}): the credentials in use lack permission for "
            "this operation; check their IAM policy and the resource policy"
        )
    if codes & _RETRYABLE or status >= 500:
        return BackendUnavailable(f"{what} is unavailable or throttling ({message}): retry later")
    if codes & _CONFLICT:
        return Conflict(
            f"{what}: {message}; wait a minute (SQS forbids re-creating a queue for 60 s) and retry"
        )
    if codes & _INVALID or status == 400:
        return InvalidRequest(f"{what} refused the request: {message}")
    return LakeError(f"{what} refused the request: {message}")


# -- S3 → SQS notifications --------------------------------------------------------------------


def configure_notifications(
    config: LakeConfig,
    s3_client: S3Client,
    sqs_client: SQSClient,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Make S3 send every route's object events to the lake's SQS queue (idempotent).

    Each bucket gets one ``QueueConfiguration`` per route (``Id`` = route name, the route's
    events as ``s3:ObjectCreated:*`` …, its prefix/suffix as filter rules); the queue policy
    lets those buckets (``aws:SourceArn``, same account) send to it. Configurations of other
    queues, topics and functions are kept; lakeward's configurations of routes no longer
    declared are removed from the lake's buckets. Nothing is written when nothing changed.

    Args:
        config: The lake; its queue must exist (``open_queue`` creates it).
        s3_client: A boto3 S3 client.
        sqs_client: A boto3 SQS client.
        sleep: Waits between tries while S3 cannot yet validate the queue (policy propagation).

    Returns:
        ``queue_url``, ``queue_arn``, ``buckets`` (bucket → its lakeward queue
        configurations), ``policy`` (lakeward's policy statement, or None) and ``changed``
        (the buckets written, plus ``"queue policy"`` if it was).

    Raises:
        ConfigError: Two routes want the same events of overlapping keys (S3 refuses that).
        NoSuchBucket: A route's bucket does not exist (run ``lakeward init``).
        NotFound: The queue does not exist yet.
    """
    _check_no_overlap(config)
    name, _ = queue_names(config)
    what = f"SQS queue {name}"
    with aws_errors(what):
        url = sqs_client.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs_client.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn", "Policy"]
        )["Attributes"]
    arn = attributes["QueueArn"]
    wanted = _wanted_configurations(config, arn)
    statement, policy_changed = _ensure_policy(
        sqs_client, url, arn, attributes.get("Policy"), sorted(wanted)
    )
    changed = ["queue policy"] if policy_changed else []
    declared = {config.physical_bucket(logical) for logical in config.buckets}
    for bucket in sorted(declared | set(wanted)):
        if _ensure_bucket(s3_client, bucket, arn, wanted.get(bucket), sleep=sleep):
            changed.append(bucket)
    return {
        "queue_url": url,
        "queue_arn": arn,
        "buckets": wanted,
        "policy": statement,
        "changed": changed,
    }


def _wanted_configurations(config: LakeConfig, queue_arn: str) -> dict[str, list[dict[str, Any]]]:
    wanted: dict[str, list[dict[str, Any]]] = {}
    for route_name, route in sorted(config.routes.items()):
        bucket = config.resolve_bucket(route.bucket)
        entry: dict[str, Any] = {
            "Id": route_name,
            "QueueArn": queue_arn,
            "Events": [f"s3:{event}" for event in route.events],
        }
        rules = [
            {"Name": name, "Value": value}
            for name, value in (("prefix", route.prefix), ("suffix", route.suffix))
            if value
        ]
        if rules:
            entry["Filter"] = {"Key": {"FilterRules": rules}}
        wanted.setdefault(bucket, []).append(entry)
    return wanted


def _ensure_policy(
    client: SQSClient, url: str, arn: str, current: str | None, buckets: list[str]
) -> tuple[dict[str, Any] | None, bool]:
    policy: dict[str, Any] = json.loads(current) if current else {}
    statements = policy.get("Statement", [])
    others = [s for s in _as_list(statements) if s.get("Sid") != NOTIFICATION_SID]
    statement: dict[str, Any] | None = None
    if buckets:
        account = arn.split(":")[4]
        statement = {
            "Sid": NOTIFICATION_SID,
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arn,
            "Condition": {
                "ArnLike": {"aws:SourceArn": [f"arn:aws:s3:::{bucket}" for bucket in buckets]},
                "StringEquals": {"aws:SourceAccount": account},
            },
        }
    new_statements = others + ([statement] if statement else [])
    if _canonical(new_statements) == _canonical(_as_list(statements)):
        return statement, False
    new = {"Version": "2012-10-17", **policy, "Statement": new_statements}
    with aws_errors(f"SQS queue policy of {arn}"):
        client.set_queue_attributes(
            QueueUrl=url, Attributes={"Policy": json.dumps(new) if new_statements else ""}
        )
    return statement, True


def _ensure_bucket(
    client: S3Client,
    bucket: str,
    queue_arn: str,
    wanted: list[dict[str, Any]] | None,
    *,
    sleep: Callable[[float], None],
) -> bool:
    what = f"notification configuration of bucket {bucket!r}"
    try:
        with aws_errors(what):
            answer = client.get_bucket_notification_configuration(Bucket=bucket)
    except NoSuchBucket:
        if wanted is None:
            return False  # a declared bucket not created yet: nothing of ours can be on it
        routes = ", ".join(entry["Id"] for entry in wanted)
        raise NoSuchBucket(
            f"bucket {bucket!r} of route(s) {routes} does not exist: create it with "
            "`lakeward init` (or fix routes.<name>.bucket)"
        ) from None
    current: dict[str, Any] = dict(cast("Mapping[str, Any]", answer))
    queues = current.get("QueueConfigurations", [])
    ours = [entry for entry in queues if entry.get("QueueArn") == queue_arn]
    if _canonical_configs(ours) == _canonical_configs(wanted or []):
        return False
    kept: dict[str, Any] = {
        key: current[key]
        for key in (
            "TopicConfigurations",
            "LambdaFunctionConfigurations",
            "EventBridgeConfiguration",
        )
        if key in current
    }
    foreign = [entry for entry in queues if entry.get("QueueArn") != queue_arn]
    document: dict[str, Any] = {**kept, "QueueConfigurations": foreign + (wanted or [])}
    _put_notifications(client, bucket, document, what, sleep=sleep)
    return True


def _put_notifications(
    client: S3Client,
    bucket: str,
    document: dict[str, Any],
    what: str,
    *,
    sleep: Callable[[float], None],
) -> None:
    # S3 checks it may send to the queue; a policy set a moment ago may not be visible yet.
    for delay in (1.0, 2.0, 4.0, 8.0, 0.0):
        try:
            with aws_errors(what):
                client.put_bucket_notification_configuration(
                    Bucket=bucket,
                    NotificationConfiguration=cast("NotificationConfigurationTypeDef", document),
                )
            return
        except InvalidRequest as exc:
            if "unable to validate" not in str(exc).lower() or not delay:
                raise
            sleep(delay)


def _check_no_overlap(config: LakeConfig) -> None:
    problems: list[str] = []
    routes = sorted(config.routes.items())
    for index, (first_name, first) in enumerate(routes):
        for second_name, second in routes[index + 1 :]:
            bucket = config.resolve_bucket(first.bucket)
            if bucket == config.resolve_bucket(second.bucket) and _overlap(first, second):
                problems.append(
                    f"routes.{second_name}: route {first_name!r} also wants these events of "
                    f"s3://{bucket} for overlapping keys; S3 refuses two notification "
                    "configurations that overlap, so on an aws lake give the routes disjoint "
                    "prefixes or suffixes, different events, or merge them"
                )
    if problems:
        raise ConfigError(problems, source=str(config.config_path or "lakeward.yaml"))


def _overlap(first: Route, second: Route) -> bool:
    prefixes = first.prefix.startswith(second.prefix) or second.prefix.startswith(first.prefix)
    suffixes = first.suffix.endswith(second.suffix) or second.suffix.endswith(first.suffix)
    return (
        prefixes
        and suffixes
        and any(_events_overlap(a, b) for a in first.events for b in second.events)
    )


def _events_overlap(first: str, second: str) -> bool:
    if first == second:
        return True
    same_family = first.split(":")[0] == second.split(":")[0]
    return same_family and (first.endswith(":*") or second.endswith(":*"))


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _canonical(value: Any) -> str:
    # One spelling for equal policies: a single string and a one-item list mean the same.
    def normalize(item: Any) -> Any:
        if isinstance(item, Mapping):
            return {key: normalize(val) for key, val in item.items()}
        if isinstance(item, list):
            return sorted((normalize(val) for val in item), key=json.dumps)
        return [item] if isinstance(item, str) else item

    return json.dumps(normalize(value), sort_keys=True)


def _canonical_configs(entries: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    canonical = []
    for entry in entries:
        rules = entry.get("Filter", {}).get("Key", {}).get("FilterRules", [])
        canonical.append(
            (
                entry.get("Id"),
                entry.get("QueueArn"),
                tuple(sorted(entry.get("Events", []))),
                tuple(sorted((str(r["Name"]).lower(), r["Value"]) for r in rules)),
            )
        )
    return sorted(canonical)


# -- plan: what exists ---------------------------------------------------------------------------


def describe_aws_event_resources(
    config: LakeConfig, clients: Mapping[str, Any] | None = None
) -> list[EventResource]:
    """Read (never create) the queue, DLQ, bucket notifications and log tables of a lake.

    Args:
        config: An ``s3://`` lake's configuration.
        clients: Ready boto3 clients by service (``s3``, ``sqs``, ``dynamodb``).

    Returns:
        One entry per resource, saying whether it exists and is as declared.
    """
    from lakeward.events import EventResource, log_table_names

    built, created = aws_clients(config.backend.store_options(), ("s3", "sqs", "dynamodb"), clients)
    try:
        name, dlq = queue_names(config)
        found = [
            EventResource("queue", q, ok, ok, {"QueueName": q})
            for q in (name, dlq)
            for ok in [_queue_exists(built["sqs"], q)]
        ]
        found += _notification_resources(config, built["s3"])
        for table in log_table_names(config):
            physical = log_table_name(config, table)
            ok = _table_exists(built["dynamodb"], physical)
            found.append(EventResource("log_table", physical, ok, ok, {"TableName": physical}))
        return found
    finally:
        for service in created:
            built[service].close()


def _queue_exists(sqs: SQSClient, name: str) -> bool:
    try:
        with aws_errors(f"SQS queue {name}"):
            sqs.get_queue_url(QueueName=name)
    except NotFound:
        return False
    return True


def _table_exists(dynamodb: Any, name: str) -> bool:
    try:
        dynamodb.describe_table(TableName=name)
    except ClientError as exc:
        if "ResourceNotFoundException" in error_codes(exc):
            return False
        raise translate_aws_error(exc, f"DynamoDB table {name}") from exc
    return True


def _notification_resources(config: LakeConfig, s3: S3Client) -> list[EventResource]:
    from lakeward.events import EventResource

    wanted: dict[str, set[str]] = {}
    for route_name, route in config.routes.items():
        wanted.setdefault(config.resolve_bucket(route.bucket), set()).add(route_name)
    found = []
    for bucket, routes in sorted(wanted.items()):
        queues: list[Any] = []
        try:
            with aws_errors(f"bucket {bucket}"):
                current = s3.get_bucket_notification_configuration(Bucket=bucket)
            queues = list(current.get("QueueConfigurations", []))
        except NoSuchBucket:
            pass  # the plan creates the bucket first
        have = {entry.get("Id") for entry in queues}
        missing = sorted(routes - have)
        note = f"routes without a notification: {', '.join(missing)}" if missing else ""
        found.append(
            EventResource("notifications", bucket, bool(have), not missing, sorted(routes), note)
        )
    return found
