"""Log tables of an ``s3://`` lake: one DynamoDB table each, ``{lake}-{env}-{name}``.

Partition key ``LogID`` (S), on-demand capacity, created on first open. Items are stored
as native DynamoDB types (numbers as ``N``, ``None`` as ``NULL``, maps and lists nested)
and read back as plain Python values, the way the local log table returns its JSON.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from lakeward.errors import ConfigError, InvalidRequest
from lakeward.events.base import LogTable
from lakeward.events.notifications_aws import (
    aws_clients,
    aws_errors,
    error_codes,
    log_table_name,
    translate_aws_error,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    from lakeward.config_models import LakeConfig

__all__ = ["DynamoDBLogTable", "from_dynamodb", "open_dynamodb_log_table", "to_dynamodb"]

KEY = "LogID"
_KEY_SCHEMA = [{"AttributeName": KEY, "KeyType": "HASH"}]
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def open_dynamodb_log_table(
    config: LakeConfig, name: str, clients: Mapping[str, Any] | None = None
) -> DynamoDBLogTable:
    """Open (creating if absent) log table ``name`` of an ``s3://`` lake.

    Args:
        config: The lake's configuration.
        name: The log table's name, e.g. ``copy_log``.
        clients: Ready boto3 clients by service (``"dynamodb"``); else one is built from
            ``config.backend.store_options()``.

    Returns:
        The table; close it when done (it closes the client it built).
    """
    built, created = aws_clients(config.backend.store_options(), ("dynamodb",), clients)
    try:
        return DynamoDBLogTable(
            built["dynamodb"], log_table_name(config, name), tags=config.resource_tags(),
            owns_client=bool(created), name=name,
        )  # fmt: skip
    except BaseException:
        if created:
            built["dynamodb"].close()
        raise


class DynamoDBLogTable(LogTable):
    """A log table in DynamoDB, keyed by ``LogID``.

    Args:
        client: A boto3 DynamoDB client.
        table_name: The physical table name.
        name: The logical name (``copy_log``); the table name when None.
        tags: Tags of a table created here.
        owns_client: Close ``client`` on :meth:`close`.

    Raises:
        ConfigError: The table exists with another key schema.
    """

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        name: str | None = None,
        tags: Mapping[str, str] | None = None,
        owns_client: bool = False,
    ) -> None:
        self._client = client
        self._owns_client = owns_client
        self.table_name = table_name
        self.name = name or table_name
        self._what = f"DynamoDB table {table_name}"
        self._ensure(dict(tags or {}))

    def close(self) -> None:
        """Close the DynamoDB client if this table built it."""
        if self._owns_client:
            self._client.close()

    def _ensure(self, tags: dict[str, str]) -> None:
        with aws_errors(self._what):
            try:
                table = self._client.describe_table(TableName=self.table_name)["Table"]
            except ClientError as exc:
                if "ResourceNotFoundException" not in error_codes(exc):
                    raise
                table = self._create(tags)
            if table.get("TableStatus") != "ACTIVE":
                self._client.get_waiter("table_exists").wait(
                    TableName=self.table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
                )
        if list(table.get("KeySchema", [])) != _KEY_SCHEMA:
            raise ConfigError(
                [
                    f"log table {self.name!r}: DynamoDB table {self.table_name!r} exists with "
                    f"key schema {table.get('KeySchema')}, not partition key {KEY} alone: "
                    "choose another log_table name in the route's options, or delete that table"
                ],
                source="aws",
            )

    def _create(self, tags: dict[str, str]) -> Any:
        try:
            return self._client.create_table(
                TableName=self.table_name,
                KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
                Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
            )["TableDescription"]
        except ClientError as exc:
            if "ResourceInUseException" not in error_codes(exc):
                raise
            # Someone else created it a moment ago: use theirs.
            return self._client.describe_table(TableName=self.table_name)["Table"]

    def put_if_absent(self, item: dict[str, Any]) -> bool:  # noqa: D102
        if item.get(KEY) in (None, ""):
            raise InvalidRequest(f"a log item needs a non-empty {KEY}; got keys {sorted(item)}")
        stored = to_dynamodb({**item, KEY: str(item[KEY])})
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=stored,
                ConditionExpression="attribute_not_exists(#key)",
                ExpressionAttributeNames={"#key": KEY},
            )
        except ClientError as exc:
            if "ConditionalCheckFailedException" in error_codes(exc):
                return False
            raise translate_aws_error(exc, self._what) from exc
        except BotoCoreError as exc:
            raise translate_aws_error(exc, self._what) from exc
        return True

    def get(self, log_id: str) -> dict[str, Any] | None:  # noqa: D102
        with aws_errors(self._what):
            answer = self._client.get_item(
                TableName=self.table_name, Key={KEY: {"S": str(log_id)}}, ConsistentRead=True
            )
        item = answer.get("Item")
        return None if item is None else from_dynamodb(item)

    def scan(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Items, oldest first: by their ``Timestamp``, then ``LogID``.

        DynamoDB scans in no useful order, so the whole table is read and sorted.
        """
        items: list[dict[str, Any]] = []
        with aws_errors(self._what):
            pages = self._client.get_paginator("scan").paginate(
                TableName=self.table_name, ConsistentRead=True
            )
            for page in pages:
                items += [from_dynamodb(item) for item in page.get("Items", [])]
        items.sort(key=lambda item: (str(item.get("Timestamp", "")), str(item.get(KEY, ""))))
        return items[: max(0, limit)]


def to_dynamodb(item: Mapping[str, Any]) -> dict[str, AttributeValueTypeDef]:
    """Serialize an item to DynamoDB attribute values (floats as Decimal, None as NULL).

    >>> to_dynamodb({"LogID": "a", "Size": 3, "Ratio": 0.5, "Sha256": None})
    {'LogID': {'S': 'a'}, 'Size': {'N': '3'}, 'Ratio': {'N': '0.5'}, 'Sha256': {'NULL': True}}

    Raises:
        InvalidRequest: A float that is NaN or infinite (DynamoDB has no such number).
    """
    return {str(key): _SERIALIZER.serialize(_native(value)) for key, value in item.items()}


def from_dynamodb(item: Mapping[str, Any]) -> dict[str, Any]:
    """Deserialize DynamoDB attribute values to plain Python (Decimal → int or float).

    >>> from_dynamodb({"LogID": {"S": "a"}, "Size": {"N": "3"}, "Ratio": {"N": "0.5"}})
    {'LogID': 'a', 'Size': 3, 'Ratio': 0.5}
    """
    return {key: _plain(_DESERIALIZER.deserialize(value)) for key, value in item.items()}


def _native(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str | bytes | bytearray | Decimal):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidRequest(f"DynamoDB cannot store the number {value}: store it as text")
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {str(key): _native(val) for key, val in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_native(val) for val in value]
    return str(value)  # datetimes and the like, as the local table's JSON keeps them


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Binary):
        return bytes(cast(Any, value).value)
    if isinstance(value, Mapping):
        return {key: _plain(val) for key, val in value.items()}
    if isinstance(value, list):
        return [_plain(val) for val in value]
    if isinstance(value, set):
        return {_plain(val) for val in value}
    return value
