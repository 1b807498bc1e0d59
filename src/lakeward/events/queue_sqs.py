"""The event queue of an ``s3://`` lake: Amazon SQS, with a dead-letter queue.

S3 sends object events to ``{lake}-{env}-events`` itself (see
:func:`lakeward.events.notifications_aws.configure_notifications`), so :meth:`pump` has
nothing to do. A lease is SQS's visibility timeout; ``attempts`` is SQS's
``ApproximateReceiveCount``. The worker dead-letters a message itself (with the reason)
into ``{lake}-{env}-events-dlq``; the queue's ``RedrivePolicy`` (``maxReceiveCount`` = the
largest ``max_attempts`` + 1) is only the backstop for messages no worker ever settles.

Where SQS differs from the local queue:

* A stale receipt is not always detectable: SQS documents that ``DeleteMessage`` with an
  old receipt "succeeds, but the message might not be deleted"; :meth:`ack` returns False
  only when SQS refuses the receipt (handlers are idempotent, so either is safe).
* :meth:`retry` cannot record the error on the message: it only hides the message for the
  delay (``last_error`` of pending messages is None); the error of the final attempt
  reaches the dead letter.
* Listing (``pending``, ``dead_letters``) must receive messages to see them, which counts
  as a receive (``ApproximateReceiveCount`` + 1, also towards ``maxReceiveCount``). Leased
  (in-flight) messages cannot be listed, only counted.
* ``s3:TestEvent`` messages (S3 sends one whenever a notification configuration is
  written) are deleted on receipt.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from lakeward.events.base import DeadLetter, EventQueue, Message
from lakeward.events.notifications_aws import (
    aws_clients,
    aws_errors,
    configure_notifications,
    error_codes,
    is_stale_receipt,
    queue_names,
    translate_aws_error,
)
from lakeward.events.worker import DEFAULT_VISIBILITY_S

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import MessageSystemAttributeNameType, QueueAttributeNameType
    from mypy_boto3_sqs.type_defs import (
        ChangeMessageVisibilityBatchRequestEntryTypeDef,
        MessageAttributeValueTypeDef,
        MessageTypeDef,
    )

    from lakeward.config_models import LakeConfig

__all__ = ["SqsEventQueue", "open_sqs_queue"]

MAX_VISIBILITY_S = 43200
"""SQS's ceiling for a visibility timeout (12 hours)."""
DLQ_RETENTION_S = 14 * 24 * 3600
"""Dead letters are kept 14 days, SQS's maximum (the main queue keeps its default 4)."""
PEEK_LIMIT = 1000
_HOLD_S = 30  # how long a listed, moved or dead-lettered message stays hidden meanwhile
_BATCH = 10  # SQS's most messages per ReceiveMessage / batch call
_ERROR_LIMIT = 8000  # characters of an error kept in a dead letter's attribute
_DEFAULT_MAX_ATTEMPTS = 5
_SYSTEM_ATTRIBUTES: list[MessageSystemAttributeNameType] = [
    "ApproximateReceiveCount",
    "SentTimestamp",
]


def open_sqs_queue(config: LakeConfig, clients: Mapping[str, Any] | None = None) -> SqsEventQueue:
    """Open (creating if absent) the lake's queue and make S3 send route events to it.

    Args:
        config: An ``s3://`` lake's configuration.
        clients: Ready boto3 clients by service (``"s3"``, ``"sqs"``); the others are built
            from ``config.backend.store_options()``.

    Returns:
        The queue; close it when done (it closes the SQS client it built).

    Raises:
        LakeError: AWS refused or is unreachable (translated), or the routes cannot be
            configured (``ConfigError``, ``NoSuchBucket``).
    """
    built, created = aws_clients(config.backend.store_options(), ("s3", "sqs"), clients)
    try:
        queue = SqsEventQueue(built["sqs"], config, owns_client="sqs" in created)
    except BaseException:
        for name in created:
            built[name].close()
        raise
    try:
        configure_notifications(config, built["s3"], built["sqs"])
    except BaseException:
        queue.close()
        raise
    finally:
        if "s3" in created:
            built["s3"].close()
    return queue


class SqsEventQueue(EventQueue):
    """The event queue of one ``s3://`` lake: ``{lake}-{env}-events`` and its ``-dlq``.

    Both queues are created if absent and their attributes set if they differ (idempotent).

    Args:
        client: A boto3 SQS client.
        config: The lake (its name, environment and routes size the queue).
        clock: The time stamped on dead letters.
        owns_client: Close ``client`` on :meth:`close`.
    """

    def __init__(
        self,
        client: SQSClient,
        config: LakeConfig,
        *,
        clock: Callable[[], float] = time.time,
        owns_client: bool = False,
    ) -> None:
        self._client = client
        self._owns_client = owns_client
        self.clock = clock
        self.name, self.dlq_name = queue_names(config)
        routes = list(config.routes.values())
        attempts = max((r.max_attempts for r in routes), default=_DEFAULT_MAX_ATTEMPTS)
        self.max_receive_count = attempts + 1
        self.visibility_timeout_s = _seconds(
            max((r.visibility_timeout_s for r in routes), default=DEFAULT_VISIBILITY_S)
        )
        tags = config.resource_tags()
        self.dlq_url, self.dlq_arn = self._ensure(
            self.dlq_name, {"MessageRetentionPeriod": str(DLQ_RETENTION_S)}, tags
        )
        redrive = {"deadLetterTargetArn": self.dlq_arn, "maxReceiveCount": self.max_receive_count}
        self.url, self.arn = self._ensure(
            self.name,
            {
                "VisibilityTimeout": str(self.visibility_timeout_s),
                "RedrivePolicy": json.dumps(redrive),
            },
            tags,
        )

    def close(self) -> None:
        """Close the SQS client if this queue built it."""
        if self._owns_client:
            self._client.close()

    # -- set-up --------------------------------------------------------------------------
    def _ensure(
        self, name: str, attributes: dict[QueueAttributeNameType, str], tags: dict[str, str]
    ) -> tuple[str, str]:
        """Create queue ``name`` if absent, set the attributes that differ; its URL and ARN."""
        with aws_errors(f"SQS queue {name}"):
            url = self._url_or_create(name, attributes, tags)
            current = self._client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
            have = current["Attributes"]
            stale = {k: v for k, v in attributes.items() if not _same_attribute(k, have.get(k), v)}
            if stale:
                self._client.set_queue_attributes(QueueUrl=url, Attributes=stale)
        return url, have["QueueArn"]

    def _url_or_create(
        self, name: str, attributes: dict[QueueAttributeNameType, str], tags: dict[str, str]
    ) -> str:
        try:
            return self._client.get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError as exc:
            if not error_codes(exc) & {"QueueDoesNotExist", "NonExistentQueue"}:
                raise
        try:
            created = self._client.create_queue(QueueName=name, Attributes=attributes, tags=tags)
        except ClientError as exc:
            # Created a moment ago by another process (with other attributes): use it.
            if not error_codes(exc) & {"QueueAlreadyExists", "QueueNameExists"}:
                raise
            return self._client.get_queue_url(QueueName=name)["QueueUrl"]
        return created["QueueUrl"]

    # -- the EventQueue interface --------------------------------------------------------
    def pump(self, config: LakeConfig, *, limit: int = 1000) -> int:
        """Return 0: S3 sends its notifications to the queue itself."""
        return 0

    def send(self, route: str, body: str) -> str:  # noqa: D102
        with aws_errors(f"SQS queue {self.name}"):
            sent = self._client.send_message(
                QueueUrl=self.url, MessageBody=body, MessageAttributes=_attributes(route=route)
            )
        return sent["MessageId"]

    def receive(self, max_messages: int, visibility_timeout_s: float) -> list[Message]:  # noqa: D102
        leased: list[Message] = []
        while len(leased) < max_messages:
            batch = self._receive(
                self.url, min(_BATCH, max_messages - len(leased)), _seconds(visibility_timeout_s)
            )
            if not batch:
                break
            for raw in batch:
                if _is_test_event(raw.get("Body", "")):
                    self._settle("delete", self.url, raw["ReceiptHandle"])
                else:
                    leased.append(_message(raw))
        return leased

    def ack(self, message: Message) -> bool:  # noqa: D102
        return self._settle("delete", self.url, message.receipt)

    def retry(self, message: Message, error: str, delay_s: float) -> bool:  # noqa: D102
        return self._settle("hide", self.url, message.receipt, _seconds(delay_s))

    def dead_letter(self, message: Message, error: str) -> bool:  # noqa: D102
        # Hold the lease while copying; a receipt SQS already refuses means someone else has it.
        if not self._settle("hide", self.url, message.receipt, _HOLD_S):
            return False
        attributes = _attributes(
            route=message.route,
            error=error[:_ERROR_LIMIT] or "unknown error",
            attempts=message.attempts,
            failed_at=round(self.clock(), 3),
        )
        with aws_errors(f"SQS queue {self.dlq_name}"):
            self._client.send_message(
                QueueUrl=self.dlq_url, MessageBody=message.body, MessageAttributes=attributes
            )
        return self._settle("delete", self.url, message.receipt)

    def pending(self) -> list[dict[str, Any]]:  # noqa: D102
        with aws_errors(f"SQS queue {self.name}"):
            counts = self._client.get_queue_attributes(
                QueueUrl=self.url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
        rows: list[dict[str, Any]] = []
        now = self.clock()
        if int(counts.get("ApproximateNumberOfMessages", "0")):
            for raw in self._peek(self.url):
                if not _is_test_event(raw.get("Body", "")):
                    rows.append(_pending_row(_message(raw), now))
        in_flight = int(counts.get("ApproximateNumberOfMessagesNotVisible", "0"))
        rows += [_in_flight_row() for _ in range(min(in_flight, PEEK_LIMIT))]
        return rows

    def dead_letters(self) -> list[DeadLetter]:  # noqa: D102
        letters = [self._dead_letter(raw) for raw in self._peek(self.dlq_url)]
        return sorted(letters, key=lambda letter: (letter.failed_at, letter.id))

    def redrive(self, ids: list[str] | None = None) -> int:  # noqa: D102
        wanted = None if ids is None else set(ids)
        moved = 0
        held: list[str] = []
        try:
            while batch := self._receive(self.dlq_url, _BATCH, _HOLD_S):
                for raw in batch:
                    if wanted is not None and raw["MessageId"] not in wanted:
                        held.append(raw["ReceiptHandle"])
                        continue
                    route = _route(raw)
                    self.send(route, raw.get("Body", ""))
                    moved += self._settle("delete", self.dlq_url, raw["ReceiptHandle"])
        finally:
            self._release(self.dlq_url, held)
        return moved

    # -- helpers ---------------------------------------------------------------------------
    def _receive(self, url: str, count: int, visibility_timeout_s: int) -> list[MessageTypeDef]:
        with aws_errors(f"SQS queue {self._name_of(url)}"):
            answer = self._client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=count,
                VisibilityTimeout=visibility_timeout_s,
                WaitTimeSeconds=0,
                MessageSystemAttributeNames=_SYSTEM_ATTRIBUTES,
                MessageAttributeNames=["All"],
            )
        return list(answer.get("Messages", []))

    def _settle(self, action: str, url: str, receipt: str, visibility_timeout_s: int = 0) -> bool:
        """Delete or hide a message by receipt; False when SQS refuses the receipt."""
        try:
            if action == "delete":
                self._client.delete_message(QueueUrl=url, ReceiptHandle=receipt)
            else:
                self._client.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=visibility_timeout_s
                )
        except ClientError as exc:
            if is_stale_receipt(exc):
                return False
            raise translate_aws_error(exc, f"SQS queue {self._name_of(url)}") from exc
        except BotoCoreError as exc:
            raise translate_aws_error(exc, f"SQS queue {self._name_of(url)}") from exc
        return True

    def _peek(self, url: str) -> list[MessageTypeDef]:
        # Received with a short hold, then released, so each message is seen once (a
        # VisibilityTimeout=0 peek returns the same first messages again and again).
        seen: dict[str, MessageTypeDef] = {}
        held: list[str] = []
        try:
            while len(seen) < PEEK_LIMIT:
                batch = self._receive(url, _BATCH, _HOLD_S)
                if not batch:
                    break
                for raw in batch:
                    held.append(raw["ReceiptHandle"])
                    seen.setdefault(raw["MessageId"], raw)
        finally:
            self._release(url, held)
        return list(seen.values())

    def _release(self, url: str, receipts: list[str]) -> None:
        with aws_errors(f"SQS queue {self._name_of(url)}"):
            for start in range(0, len(receipts), _BATCH):
                entries: list[ChangeMessageVisibilityBatchRequestEntryTypeDef] = [
                    {"Id": str(index), "ReceiptHandle": receipt, "VisibilityTimeout": 0}
                    for index, receipt in enumerate(receipts[start : start + _BATCH])
                ]
                self._client.change_message_visibility_batch(QueueUrl=url, Entries=entries)

    def _dead_letter(self, raw: MessageTypeDef) -> DeadLetter:
        attributes = raw.get("MessageAttributes", {})
        system = raw.get("Attributes", {})
        error = _attribute(attributes, "error")
        failed_at = _attribute(attributes, "failed_at")
        attempts = _attribute(attributes, "attempts")
        return DeadLetter(
            id=raw["MessageId"],
            route=_route(raw),
            body=raw.get("Body", ""),
            # The listing itself was one receive of the dead letter: leave it out.
            attempts=int(attempts)
            if attempts
            else int(system.get("ApproximateReceiveCount", "1")) - 1,
            last_error=error
            or f"moved to the dead-letter queue by SQS after {self.max_receive_count} receives "
            "without being settled (a worker crashed or ran past the visibility timeout)",
            failed_at=float(failed_at)
            if failed_at
            else int(system.get("SentTimestamp", "0")) / 1000,
        )

    def _name_of(self, url: str) -> str:
        return self.dlq_name if url == self.dlq_url else self.name


def _seconds(value: float) -> int:
    """Whole seconds for SQS, rounded up, within 0 … 12 hours."""
    return min(MAX_VISIBILITY_S, max(0, math.ceil(value)))


def _same_attribute(name: str, current: str | None, wanted: str) -> bool:
    if current is None:
        return False
    if name == "RedrivePolicy":
        have, want = json.loads(current), json.loads(wanted)
        return bool(
            have.get("deadLetterTargetArn") == want["deadLetterTargetArn"]
            and int(have.get("maxReceiveCount", 0)) == int(want["maxReceiveCount"])
        )
    return current == wanted


def _attributes(**values: str | int | float) -> dict[str, MessageAttributeValueTypeDef]:
    # SQS refuses empty attribute values: an empty one is left out.
    attributes: dict[str, MessageAttributeValueTypeDef] = {}
    for name, value in values.items():
        if isinstance(value, str):
            if value:
                attributes[name] = {"DataType": "String", "StringValue": value}
        else:
            attributes[name] = {"DataType": "Number", "StringValue": str(value)}
    return attributes


def _attribute(attributes: Mapping[str, Any], name: str) -> str:
    return str(attributes.get(name, {}).get("StringValue", ""))


def _route(raw: MessageTypeDef) -> str:
    """The ``route`` attribute, else the ``configurationId`` of the body's first S3 record."""
    route = _attribute(raw.get("MessageAttributes", {}), "route")
    if route:
        return route
    try:
        return str(json.loads(raw.get("Body", ""))["Records"][0]["s3"]["configurationId"])
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


def _is_test_event(body: str) -> bool:
    try:
        document = json.loads(body)
    except ValueError:
        return False
    return isinstance(document, dict) and document.get("Event") == "s3:TestEvent"


def _message(raw: MessageTypeDef) -> Message:
    system = raw.get("Attributes", {})
    return Message(
        id=raw["MessageId"],
        route=_route(raw),
        body=raw.get("Body", ""),
        attempts=int(system.get("ApproximateReceiveCount", "1")),
        receipt=raw["ReceiptHandle"],
        enqueued_at=int(system.get("SentTimestamp", "0")) / 1000,
    )


def _pending_row(message: Message, now: float) -> dict[str, Any]:
    return {
        "id": message.id,
        "route": message.route,
        "body": message.body,
        "attempts": message.attempts - 1,  # the listing's own receive does not count
        "enqueued_at": message.enqueued_at,
        "visible_at": now,
        "last_error": None,
        "leased": False,
    }


def _in_flight_row() -> dict[str, Any]:
    # SQS shows leased messages to no one: they are counted, with nothing else known.
    return {
        "id": "",
        "route": "",
        "body": "{}",
        "attempts": None,
        "enqueued_at": None,
        "visible_at": None,
        "last_error": None,
        "leased": True,
    }
