"""The six tamper cases on every sink: verify names the first bad record and what is wrong."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from lakeward.auditlog import Digest, Record
from lakeward.auditlog.chain import sha256_hex
from lakeward.auditlog.signing import Signer
from tests.auditlog.conftest import Case

RECORDS = 12
SEALED_AT = 6


@pytest.fixture
def filled(case: Case) -> Case:
    """12 records; digest 1 covers 1-6 (sealed), the signed head is at 12."""
    for n in range(1, RECORDS + 1):
        case.log.append(
            "s3:PutObject",
            f"arn:aws:s3:::acme-dev-lake/raw/file-{n}.csv",
            actor="ana",
            details={"size": n, "sha256": sha256_hex(str(n).encode())},
        )
        if n == SEALED_AT:
            assert case.log.seal() is not None
    return case


def rehash(data: dict[str, Any]) -> dict[str, Any]:
    record = Record.from_dict(data)
    return replace(record, hash=record.compute_hash()).to_dict()


def first_bad(case: Case, **options: Any) -> tuple[int, str, str]:
    report = case.log.verify(**options)
    assert not report.ok and report.first_bad is not None, report
    return report.first_bad.seq, report.first_bad.kind, report.first_bad.message


def test_untouched_log_verifies(filled: Case) -> None:
    report = filled.log.verify()
    assert report.ok and report.first_bad is None
    assert (report.records_checked, report.digests_checked) == (RECORDS, 1)
    assert report.head_seq == RECORDS and report.last_seq == RECORDS
    assert report.trust == "local key"
    assert [r.seq for r in filled.log.records()] == list(range(1, RECORDS + 1))


def test_deleted_record_is_named(filled: Case) -> None:
    records = filled.raw.records()
    filled.raw.save_records(records[:4] + records[5:])
    seq, kind, message = first_bad(filled)
    assert (seq, kind) == (5, "deleted")
    assert "record 5 is missing" in message


def test_deleting_a_run_of_records_names_the_first(filled: Case) -> None:
    records = filled.raw.records()
    filled.raw.save_records(records[:2] + records[7:])
    seq, kind, message = first_bad(filled)
    assert (seq, kind) == (3, "deleted")
    assert "records 3-7 are missing" in message


def test_modified_record_is_named(filled: Case) -> None:
    records = filled.raw.records()
    records[6]["resource"] = "arn:aws:s3:::acme-dev-lake/raw/innocent.csv"
    filled.raw.save_records(records)
    seq, kind, message = first_bad(filled)
    assert (seq, kind) == (7, "modified")
    assert "does not match its own hash" in message


def test_modified_and_rehashed_record_is_named(filled: Case) -> None:
    records = filled.raw.records()
    records[6]["outcome"] = "denied"
    records[6] = rehash(records[6])
    filled.raw.save_records(records)
    assert first_bad(filled)[:2] == (7, "modified")


def test_rewritten_chain_is_caught_by_the_signatures(filled: Case) -> None:
    """Changing record 8 and re-hashing every later record keeps the chain consistent:
    only the signed head (which no one without the key can re-sign) tells."""
    records = filled.raw.records()
    records[7]["actor"] = "mallory"
    prev = records[6]["hash"]
    for index in range(7, RECORDS):
        records[index]["prev_hash"] = prev
        records[index] = rehash(records[index])
        prev = records[index]["hash"]
    filled.raw.save_records(records)
    seq, kind, message = first_bad(filled)
    assert (seq, kind) == (SEALED_AT + 1, "modified")
    assert "re-hashed" in message


def test_inserted_record_is_named(filled: Case) -> None:
    records = filled.raw.records()
    forged = Record.create(
        seq=5,
        time=records[3]["time"],
        actor="mallory",
        action="s3:DeleteObject",
        resource="arn:aws:s3:::acme-dev-lake/raw/file-1.csv",
        prev_hash=records[3]["hash"],
    )
    filled.raw.save_records([*records[:4], forged.to_dict(), *records[4:]])
    seq, kind, message = first_bad(filled)
    assert (seq, kind) == (5, "inserted")
    assert "not part of the chain" in message


def test_record_appended_without_the_key_is_named(filled: Case) -> None:
    records = filled.raw.records()
    forged = Record.create(
        seq=RECORDS + 1,
        time=records[-1]["time"],
        actor="mallory",
        action="s3:PutObject",
        resource="arn:aws:s3:::acme-dev-lake/raw/alibi.csv",
        prev_hash=records[-1]["hash"],
    )
    filled.raw.save_records([*records, forged.to_dict()])
    assert first_bad(filled)[:2] == (RECORDS + 1, "inserted")


def test_reordered_records_are_named(filled: Case) -> None:
    records = filled.raw.records()
    records[7], records[8] = records[8], records[7]
    filled.raw.save_records(records)
    seq, kind, message = first_bad(filled)
    assert (seq, kind) == (8, "reordered")
    assert "record 8 is stored at position 9" in message


def test_record_moved_to_the_end_is_named(filled: Case) -> None:
    records = filled.raw.records()
    moved = records.pop(2)
    filled.raw.save_records([*records, moved])
    assert first_bad(filled)[:2] == (3, "reordered")


def test_truncation_is_named(filled: Case) -> None:
    records = filled.raw.records()
    filled.raw.save_records(records[:9])
    seq, kind, message = first_bad(filled)
    assert (seq, kind) == (10, "truncated")
    assert "records 10-12 are missing" in message


def test_truncation_blocks_further_appends(filled: Case) -> None:
    from lakeward.errors import LakeCorrupted

    filled.raw.save_records(filled.raw.records()[:9])
    if filled.name == "sqlite":
        with pytest.raises(LakeCorrupted, match="ends at record 12"):
            filled.log.append("s3:PutObject", "arn:aws:s3:::x/y", actor="ana")
    else:  # the object store continues after the head, so the gap stays visible
        filled.log.append("s3:PutObject", "arn:aws:s3:::x/y", actor="ana")
    assert first_bad(filled)[:2] == (10, "truncated" if filled.name == "sqlite" else "deleted")


def test_forged_digest_is_named(filled: Case) -> None:
    digests = filled.raw.digests()
    digests[0]["last_hash"] = "f" * 64
    filled.raw.save_digests(digests)
    seq, kind, message = first_bad(filled)
    assert (seq, kind) == (1, "bad_signature")
    assert "invalid signature" in message


def test_digest_signed_by_another_key_is_named(filled: Case) -> None:
    mallory = Signer.generate()
    digest = Digest.from_dict(filled.raw.digests()[0])
    digest = replace(digest, key_id=mallory.key_id, public_key=mallory.public_key)
    digest = replace(digest, signature=mallory.sign(digest.payload()))
    filled.raw.save_digests([digest.to_dict()])
    seq, kind, message = first_bad(filled)
    assert (seq, kind) == (1, "bad_signature")
    assert f"signed by key {mallory.key_id}" in message


def test_trusted_public_key_must_match(filled: Case) -> None:
    other = Signer.generate()
    seq, kind, message = first_bad(filled, public_key=other.public_key)
    assert (seq, kind) == (1, "bad_signature")
    assert f"not by the trusted key {other.key_id}" in message
    assert filled.log.verify(public_key=filled.log.signer().public_key).ok


def test_deleted_digest_is_named(filled: Case) -> None:
    filled.raw.save_digests([])
    seq, kind, message = first_bad(filled)
    assert (seq, kind) == (1, "deleted")
    assert "digest 1 is missing" in message
