"""Make moto evaluate bucket-policy conditions, with lakeward's own evaluator.

moto 5 applies a bucket policy's Deny statements without looking at their conditions, so
the HTTPS-only deny (``aws:SecureTransport`` false) refuses every request once ``apply``
wrote it. Real S3 evaluates the condition. Tests that apply policies on moto and then
write use :func:`evaluate_conditions` to get S3's behaviour: requests are made over TLS
(``aws:SecureTransport`` true) and carry no encryption header.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest


@contextmanager
def evaluate_conditions(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    from lakeward.governance.policy_eval import PolicySource, Request, evaluate

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        source = PolicySource("bucket", "resource", json.loads(self.policy.decode()))
        request = Request(action, resource, context={"aws:SecureTransport": "true"})
        decision = evaluate(request, [source])
        if decision.effect == "ExplicitDeny":
            return PermissionResult.DENIED
        return PermissionResult.PERMITTED if decision.allowed else PermissionResult.NEUTRAL

    monkeypatch.setattr(FakeBucket, "get_permission", get_permission)
    yield
