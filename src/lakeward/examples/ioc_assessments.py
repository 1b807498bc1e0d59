"""A deterministic stream of IoC (indicator of compromise) assessment events, as NDJSON.

The scenario of seed 003: an application assesses indicators (IPs, domains, file hashes)
for its users and emits one JSON event per assessment. Files are written per hour of
arrival; every event carries its own ``event_time``, which is what the lake partitions
Parquet by (not the arrival time). ``user_email`` is personal data: the example's route
hashes it on the way to ``processed/``. One record is deliberately malformed (a score
that is not a number) so the quarantine can be seen.

    python examples/ioc-assessments/generate.py OUT_DIR [--events 600] [--seed 3]
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["generate", "main"]

VERDICTS = (("benign", 70), ("suspicious", 20), ("malicious", 10))
IOC_TYPES = ("ipv4", "domain", "sha256")
SOURCES = ("edr", "mail-gateway", "proxy")
START = datetime(2024, 2, 29, 20, 0, tzinfo=UTC)  # a leap day evening: events cross into March


def _indicator(rng: random.Random, kind: str) -> str:
    if kind == "ipv4":
        return ".".join(str(rng.randint(1, 254)) for _ in range(4))
    if kind == "domain":
        return (
            f"{rng.choice(['cdn', 'login', 'update', 'mail'])}-{rng.randint(100, 999)}.example.net"
        )
    return "".join(rng.choice("0123456789abcdef") for _ in range(64))


def _event(rng: random.Random, number: int) -> dict[str, Any]:
    kind = rng.choice(IOC_TYPES)
    verdict = rng.choices([v for v, _ in VERDICTS], weights=[w for _, w in VERDICTS])[0]
    when = START + timedelta(minutes=number * 7 + rng.randint(0, 6))
    user = rng.randint(1, 40)
    return {
        "event_id": f"evt-{number:06d}",
        "event_time": when.isoformat().replace("+00:00", "Z"),
        "user_id": f"u{user:03d}",
        "user_email": f"user{user:03d}@corp.example.com",
        "ioc_type": kind,
        "ioc_value": _indicator(rng, kind),
        "verdict": verdict,
        "score": round(rng.uniform(0, 100), 2),
        "source_system": rng.choice(SOURCES),
    }


def generate(out_dir: Path, *, events: int = 600, seed: int = 3, files: int = 3) -> list[Path]:
    """Write ``files`` NDJSON files of assessment events; return their paths.

    The same arguments always give byte-identical files. Event number 42 (if present)
    has a non-numeric score: the malformed record the quarantine should catch.
    """
    rng = random.Random(f"ioc-assessments/{seed}")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [_event(rng, n) for n in range(events)]
    if len(rows) > 42:
        rows[42]["score"] = "high"
    paths = []
    per_file = -(-len(rows) // files)
    for index in range(files):
        chunk = rows[index * per_file : (index + 1) * per_file]
        path = out_dir / f"assessments-{index + 1:02d}.ndjson"
        path.write_text(
            "".join(json.dumps(r, sort_keys=True) + "\n" for r in chunk), encoding="utf-8"
        )
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``generate.py OUT_DIR [--events N] [--seed S] [--files F]``."""
    parser = argparse.ArgumentParser(description="Write synthetic IoC assessment events (NDJSON).")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--files", type=int, default=3)
    args = parser.parse_args(argv)
    for path in generate(args.out_dir, events=args.events, seed=args.seed, files=args.files):
        print(path)
    return 0
