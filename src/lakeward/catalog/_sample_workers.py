"""Profiler processes for large local crawls: ``python -m lakeward.catalog._sample_workers``.

Profiling a sample (Arrow's CSV/JSON readers, Python around them) is CPU-bound, so threads
cannot spread it over cores. The crawler starts a few of these workers and hands each a
chunk of file heads at a time over its stdin; the worker answers with the samples on its
stdout. The workers are plain subprocesses running this module (not ``multiprocessing``,
which would re-import the caller's ``__main__`` script in every worker).

Frames are length-prefixed pickles between a parent and the children it started itself.
One chunk is outstanding per worker, so neither side ever blocks on a full pipe while
the other waits for it.
"""

from __future__ import annotations

import pickle
import struct
import subprocess
import sys
from collections.abc import Iterable, Iterator
from typing import IO, Any

from lakeward._closeable import Closeable

__all__ = ["SampleWorkers", "main"]

_HEADER = struct.Struct("!Q")


def _send(stream: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("the other side closed the pipe")
    (size,) = _HEADER.unpack(header)
    return pickle.loads(stream.read(size))


class SampleWorkers(Closeable):
    """``count`` worker processes profiling chunks of heads, results in submission order.

    Args:
        count: How many processes to start.
    """

    def __init__(self, count: int) -> None:
        command = [sys.executable, "-m", "lakeward.catalog._sample_workers"]
        self._workers = [
            subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            for _ in range(count)
        ]

    def map(self, chunks: Iterable[list[Any]]) -> Iterator[list[Any]]:
        """Profile each chunk of heads; yield each chunk's samples, in order."""
        busy: list[tuple[int, subprocess.Popen[bytes]]] = []
        idle = list(self._workers)
        for number, chunk in enumerate(chunks):
            if not idle:
                yield self._result(busy.pop(0), idle)
            worker = idle.pop(0)
            _send(_pipe(worker.stdin), chunk)
            busy.append((number, worker))
        while busy:
            yield self._result(busy.pop(0), idle)

    def _result(
        self, job: tuple[int, subprocess.Popen[bytes]], idle: list[subprocess.Popen[bytes]]
    ) -> list[Any]:
        _, worker = job
        samples: list[Any] = _receive(_pipe(worker.stdout))
        idle.append(worker)
        return samples

    def close(self) -> None:
        """Tell every worker to stop and wait for it."""
        for worker in self._workers:
            try:
                _send(_pipe(worker.stdin), None)
                _pipe(worker.stdin).close()
            except (BrokenPipeError, OSError):
                pass
        for worker in self._workers:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            if worker.stdout is not None:
                worker.stdout.close()


def _pipe(stream: IO[bytes] | None) -> IO[bytes]:
    if stream is None:  # pragma: no cover - Popen was given PIPE for both
        raise RuntimeError("a sample worker has no pipe")
    return stream


def main() -> None:
    """Serve chunks from stdin until told to stop (``None``) or the parent goes away."""
    from lakeward.catalog._crawl_schema import sample_heads

    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            chunk = _receive(source)
        except EOFError:
            return
        if chunk is None:
            return
        _send(sink, sample_heads(chunk))


if __name__ == "__main__":
    main()
