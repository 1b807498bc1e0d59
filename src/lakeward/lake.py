"""The :class:`Lake` facade: configuration wired to a storage backend.

>>> import tempfile
>>> with Lake.open(overrides={"backend.root": tempfile.mkdtemp()}) as lake:
...     statuses = lake.init()
...     info = lake.put("s3://lake/raw/hello.txt", b"hello")
...     lake.read("s3://lake/raw/hello.txt")
b'hello'
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakeward._closeable import Closeable
from lakeward.config import load_config
from lakeward.config_models import LakeConfig
from lakeward.errors import AccessDenied, ConfigError, InvalidRequest
from lakeward.layout import S3Uri, parse_s3_uri
from lakeward.storage import BucketConfigKind, ObjectInfo, ObjectStore, open_store
from lakeward.storage.base import PutData

if TYPE_CHECKING:
    import pyarrow as pa

    from lakeward.auditlog import AuditLog
    from lakeward.auditlog.requests import RequestCounter
    from lakeward.auditlog.wrap import AuditingStore
    from lakeward.catalog.base import Catalog
    from lakeward.catalog.crawler import CrawlReport
    from lakeward.events.base import EventQueue, LogTable
    from lakeward.events.quarantine import QuarantinedRecord, ReplayReport
    from lakeward.events.stream import RecordStream
    from lakeward.events.worker import WorkerStats
    from lakeward.governance.apply import ApplyResult
    from lakeward.governance.audit import AuditReport
    from lakeward.governance.cost import CostReport, Growth
    from lakeward.governance.plan import Change, Plan
    from lakeward.governance.policy_eval import Decision, Request
    from lakeward.ingest import IngestReport
    from lakeward.query import Estimate, HistoryEntry, QueryEngine, QueryResult
    from lakeward.query.history import History
    from lakeward.storage.local_doctor import DoctorReport, Progress

__all__ = ["BucketStatus", "Lake", "load_lake"]


@dataclass(frozen=True)
class BucketStatus:
    """What ``init`` did for one declared bucket."""

    logical: str
    physical: str
    created: bool
    versioning: bool
    object_lock: bool


class Lake(Closeable):
    """A lake: its configuration and its object store.

    Args:
        config: The validated configuration.
        store: An already open store (tests inject one); opened from the config when None.
        role: Act as this role of ``roles:``: every store request is checked against its
            policy and the bucket policies (see :mod:`lakeward.governance.enforce`).
    """

    def __init__(
        self, config: LakeConfig, store: ObjectStore | None = None, *, role: str | None = None
    ) -> None:
        self.config = config
        self.role = role
        if role is not None:
            config.role(role)  # an unknown role fails now, not at the first request
        self._store = self._as_role(store) if store is not None else None
        self._queue: EventQueue | None = None
        self._catalog: Catalog | None = None
        self._query_engine: QueryEngine | None = None
        self._log_tables: dict[str, LogTable] = {}
        self._auditing: AuditingStore | None = None
        self._own_log: AuditLog | None = None

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        overrides: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        role: str | None = None,
    ) -> Lake:
        """Load the configuration (args > env > file > defaults) and open the lake.

        Args:
            path: ``lakeward.yaml`` (or its folder); found as ``load_config`` finds it if None.
            overrides: Dotted keys to values, e.g. ``{"backend.root": "/tmp/lake"}``.
            environ: Environment to read instead of ``os.environ``.
            role: Act as this role of ``roles:`` (every store request is authorized).

        Raises:
            ConfigError: The configuration is invalid (every problem is listed), or it
                declares no such role.
        """
        return cls(load_config(path, overrides=overrides, environ=environ), role=role)

    @property
    def store(self) -> ObjectStore:
        """The object store, opened on first use."""
        if self._store is None:
            backend = self.config.backend
            raw = open_store(backend.store_uri(), **backend.store_options())
            self._store = self._as_role(self._with_audit(raw))
        return self._store

    def _with_audit(self, raw: ObjectStore) -> ObjectStore:
        """Log every change made through the store in the lake's audit log.

        An aws lake whose logs bucket does not exist yet (before the first ``apply``), or
        is not visible to the credentials in use, has nowhere to keep the log: its changes
        are then recorded by ``apply``'s own record once the bucket exists, and by
        CloudTrail.
        """
        from lakeward.auditlog import logs_bucket, open_audit_log
        from lakeward.auditlog.wrap import AuditingStore

        if self.config.backend.type == "aws":
            try:
                if not raw.bucket_exists(logs_bucket(self.config)):
                    return raw
            except (ConfigError, AccessDenied):
                # No logs bucket declared, or credentials that may not see it: on AWS,
                # CloudTrail remains the record of what these credentials do.
                return raw
        actor, reads = self.actor, self._read_counter()
        log = open_audit_log(self.config, raw)
        self._auditing = AuditingStore(raw, log, actor=actor, reads=reads)
        return self._auditing

    def _read_counter(self) -> RequestCounter | None:
        """Local lakes count reads in lake.db (S3 counts them in CloudWatch)."""
        root = self.config.local_root
        if root is None:
            return None
        from lakeward.auditlog.requests import RequestCounter

        return RequestCounter(root / "lake.db")

    @property
    def actor(self) -> str:
        """Who this lake's changes are recorded as: the role's ARN, else the OS user."""
        if self.role is None:
            from lakeward.auditlog.wrap import default_actor

            return default_actor()
        from lakeward.governance.iam import role_arn

        return role_arn(self.config, self.role)

    def _as_role(self, store: ObjectStore) -> ObjectStore:
        if self.role is None:
            return store
        from lakeward.governance.enforce import as_role

        return as_role(self.config, store, self.role, on_denied=self._record_denied)

    def _record_denied(self, request: Request, decision: Decision) -> None:
        if self._auditing is not None:
            actor = request.principal or self.actor
            self._auditing.record_denied(request.action, request.resource, decision.reason, actor)

    @property
    def audit_log(self) -> AuditLog:
        """The lake's tamper-evident audit log (see :mod:`lakeward.auditlog`).

        Raises:
            ConfigError: An aws lake declares no logs bucket.
        """
        self.store  # noqa: B018 - opening the store opens the log it writes to
        if self._auditing is not None:
            return self._auditing.log
        if self._own_log is None:
            from lakeward.auditlog import open_audit_log

            self._own_log = open_audit_log(self.config, self.backend_store)
        return self._own_log

    @property
    def backend_store(self) -> ObjectStore:
        """The backend's own store, under the audit-log and role wrappers of :attr:`store`.

        Changes made through it are neither authorized nor logged: it is for lakeward's
        machinery and tests, not for users' writes.
        """
        from lakeward.governance.lifecycle import backend_of

        return backend_of(self.store)

    def close(self) -> None:
        """Close the store, the queue, the catalog and the log tables."""
        if self._queue is not None:
            self._queue.close()
            self._queue = None
        if self._query_engine is not None:
            self._query_engine.close()
            self._query_engine = None
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None
        for table in self._log_tables.values():
            table.close()
        self._log_tables.clear()
        if self._store is not None:
            self._store.close()
            self._store = None
            self._auditing = None
        if self._own_log is not None:
            self._own_log.close()
            self._own_log = None

    # -- addressing ----------------------------------------------------------------------
    def resolve(self, uri: str) -> S3Uri:
        """Parse ``s3://bucket/key``; a logical bucket name becomes its physical name.

        >>> lake = Lake(load_config(environ={}))
        >>> lake.resolve("s3://lake/raw/x.csv").bucket
        'lake-dev-lake'
        """
        parsed = parse_s3_uri(uri)
        return S3Uri(self.config.resolve_bucket(parsed.bucket), parsed.key)

    # -- set-up --------------------------------------------------------------------------
    def init(self) -> list[BucketStatus]:
        """Create every declared bucket that does not exist yet (idempotent).

        New buckets get object lock and versioning as their guardrails declare; existing
        buckets are left as they are (``lakeward apply`` reconciles their configuration).

        Returns:
            One status per declared bucket.
        """
        statuses = []
        for logical in self.config.buckets:
            physical = self.config.physical_bucket(logical)
            guard = self.config.effective_guardrails(logical)
            lock = guard.object_lock.enabled
            created = not self.store.bucket_exists(physical)
            if created:
                self.store.create_bucket(physical, object_lock=lock)
                if guard.versioning and not lock:
                    self.store.put_bucket_config(
                        physical, BucketConfigKind.VERSIONING, {"Status": "Enabled"}
                    )
            statuses.append(BucketStatus(logical, physical, created, guard.versioning, lock))
        return statuses

    # -- convenience over the store ------------------------------------------------------
    def put(self, uri: str, data: PutData, **options: Any) -> ObjectInfo:
        """Store ``data`` at ``s3://bucket/key``; options as :meth:`ObjectStore.put`."""
        target = self.resolve(uri)
        return self.store.put(target.bucket, target.key, data, **options)

    def read(self, uri: str, *, version_id: str | None = None) -> bytes:
        """Return the whole body of ``s3://bucket/key`` (verified against its SHA-256)."""
        target = self.resolve(uri)
        with self.store.get(target.bucket, target.key, version_id=version_id) as body:
            return body.read()

    # -- ingest --------------------------------------------------------------------------
    def ingest(
        self,
        inputs: str | Path | Sequence[str | Path],
        *,
        dataset: str,
        partitions: Mapping[str, str] | None = None,
        partition_from_path: str | None = None,
        ingest_date: date | str | None = None,
        dry_run: bool = False,
        move: bool = False,
        workers: int = 4,
        allow_pii: bool = False,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> IngestReport:
        r"""Ingest local files into a dataset's raw prefix, exactly once.

        Args:
            inputs: Files, folders (recursive) and glob patterns.
            dataset: A dataset declared in lakeward.yaml.
            partitions: Partition values, e.g. ``{"year": "2023"}``.
            partition_from_path: Take partition values from folders, e.g. ``"{year}/"``.
            ingest_date: The ``ingest_date`` partition (default: today, UTC).
            dry_run: Plan only: hash and decide, write nothing.
            move: Delete each local file once the lake's copy is verified.
            workers: Threads for hashing (and uploads on S3).
            allow_pii: Let files with PII findings into a ``public`` dataset.
            progress: Called as ``progress(stage, done, total)``.

        Returns:
            The run's report (``report.ok`` is False when a file was refused or failed).

        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "a.csv").write_text("id,email\n1,ana@example.com\n")
        >>> with Lake.open(overrides={"backend.root": str(folder / "lake"),
        ...                           "datasets.crm.domain": "sales", "datasets.crm.source": "crm",
        ...                           "datasets.crm.owner": "sales-team"}) as lake:
        ...     _ = lake.init()
        ...     first = lake.ingest(folder / "a.csv", dataset="crm", ingest_date="2024-05-01")
        ...     again = lake.ingest(folder / "a.csv", dataset="crm", ingest_date="2024-05-01")
        >>> first.counts["uploaded"], again.counts["skipped"], first.files[0].key
        (1, 1, 'raw/sales/crm/ingest_date=2024-05-01/a.csv')
        >>> first.files[0].pii_tag
        'email'
        """
        from lakeward.ingest import IngestOptions, ingest

        options = IngestOptions(
            dataset=dataset,
            partitions=dict(partitions or {}),
            partition_from_path=partition_from_path,
            ingest_date=_as_date(ingest_date),
            dry_run=dry_run,
            move=move,
            workers=workers,
            allow_pii=allow_pii,
        )
        items = [inputs] if isinstance(inputs, str | Path) else list(inputs)
        return ingest(self.config, self.store, items, options, progress=progress)

    def manifest(self, uri: str) -> dict[str, Any]:
        """Return the manifest ("passport") of an ingested object, or a manifest by its key."""
        from lakeward.ingest import read_manifest

        target = self.resolve(uri)
        return read_manifest(self.store, target.bucket, target.key)

    # -- catalog ---------------------------------------------------------------------------
    @property
    def catalog(self) -> Catalog:
        """The catalog (local SQLite in ``lake.db``, or AWS Glue), opened on first use."""
        if self._catalog is None:
            from lakeward.catalog.loader import open_catalog

            self.store  # noqa: B018 - a local catalog lives in the store's lake.db
            self._catalog = open_catalog(self.config)
        return self._catalog

    def crawl(self, **options: Any) -> CrawlReport:
        """Crawl a prefix or a dataset into catalog tables (see :func:`lakeward.catalog.crawler.crawl`)."""
        from lakeward.catalog.crawler import crawl

        return crawl(self, **options)

    # -- query -----------------------------------------------------------------------------
    @property
    def query_engine(self) -> QueryEngine:
        """The query engine (DuckDB over the lake's files), opened on first use.

        Its history is kept in ``lake.db`` (local lakes) or the logs bucket (aws lakes).
        """
        if self._query_engine is None:
            from lakeward.query import open_query_engine

            store = self.backend_store
            self._query_engine = open_query_engine(self.config, self.catalog, store)
        return self._query_engine

    def query(self, sql: str, *, workgroup: str = "primary") -> pa.Table:
        """Run Athena SQL over the catalog's tables and return the rows as a pyarrow Table."""
        return self.query_engine.run(sql, workgroup).table

    def run_query(self, sql: str, *, workgroup: str = "primary") -> QueryResult:
        """Run Athena SQL; the rows with bytes scanned, cost and duration."""
        return self.query_engine.run(sql, workgroup)

    def estimate(self, sql: str, *, workgroup: str = "primary") -> Estimate:
        """Plan a query: partitions, files, upper-bound bytes and cost; nothing is read."""
        return self.query_engine.estimate(sql, workgroup)

    def query_history(self, workgroup: str | None = None, limit: int = 100) -> list[HistoryEntry]:
        """Past query runs, newest first."""
        return self.query_engine.history(workgroup, limit)

    # -- events ----------------------------------------------------------------------------
    @property
    def queue(self) -> EventQueue:
        """The event queue (opened on first use)."""
        if self._queue is None:
            from lakeward.events import open_queue

            self.store  # noqa: B018 - the store creates the outbox the queue reads
            self._queue = open_queue(self.config)
        return self._queue

    def log_table(self, name: str) -> LogTable:
        """A log table by name, e.g. ``copy_log`` (the copy handler's audit rows)."""
        if name not in self._log_tables:
            from lakeward.events import open_log_table

            self._log_tables[name] = open_log_table(self.config, name)
        return self._log_tables[name]

    def run_worker(
        self, *, concurrency: int = 1, stop: threading.Event | None = None
    ) -> WorkerStats:
        """Process events: once (everything visible now) or, with ``stop``, until it is set.

        Returns:
            Counts of routed, processed, retried and dead-lettered messages, with outcomes.
        """
        from lakeward.events.worker import Worker

        worker = Worker(self, self.queue, self.log_table, concurrency=concurrency)
        return worker.run_once() if stop is None else worker.run(stop)

    def quarantine(self, dataset: str) -> list[QuarantinedRecord]:
        """Records of ``dataset`` that ``to_parquet`` could not convert, with the reasons."""
        from lakeward.events.quarantine import list_quarantine

        return list_quarantine(self, dataset)

    def replay_quarantine(self, dataset: str) -> ReplayReport:
        """Convert quarantined records again (after a schema fix); land those that pass once."""
        from lakeward.events.quarantine import replay

        return replay(self, dataset)

    # -- streams ---------------------------------------------------------------------------
    def stream(self, dataset: str, **options: Any) -> RecordStream:
        """Open a buffered record stream into a dataset, like Kinesis Firehose.

        Records put are durable at once (an fsynced spool) and delivered as GZIP NDJSON
        objects under ``<prefix>/year=/month=/day=/hour=/`` by size, age and on close; see
        :mod:`lakeward.events.stream`.

        Args:
            dataset: A dataset declared in lakeward.yaml.
            **options: As :class:`~lakeward.events.stream.RecordStream`: ``max_bytes``,
                ``max_seconds``, ``clock``, ``on_delivery`` and ``spool_dir`` (default
                ``<root>/spool`` for a local lake, ``~/.cache/lakeward/spool/<lake>-<env>``
                for an aws lake).

        Raises:
            ConfigError: Unknown dataset.
            Conflict: Another stream of this dataset has its spool open.

        >>> import tempfile
        >>> delivered = []
        >>> with Lake.open(overrides={"backend.root": tempfile.mkdtemp(),
        ...                           "datasets.clicks.domain": "web",
        ...                           "datasets.clicks.source": "app",
        ...                           "datasets.clicks.owner": "web-team"}) as lake:
        ...     _ = lake.init()
        ...     with lake.stream("clicks", on_delivery=delivered.append) as stream:
        ...         stream.put({"page": "/", "ms": 12})
        >>> delivered[0].records, delivered[0].key.startswith("raw/web/app/year=")
        (1, True)
        """
        from lakeward.events.stream import RecordStream, default_spool_dir

        options.setdefault("spool_dir", default_spool_dir(self.config))
        return RecordStream(self.config, self.store, dataset, **options)

    def doctor(
        self,
        *,
        repair: bool = False,
        gc: bool = False,
        progress: Progress | None = None,
    ) -> DoctorReport:
        """Check the local lake's files against its database (see ``storage.local_doctor``).

        With ``gc`` it also removes routed events older than a week from the outbox.

        Raises:
            NotSupported: The backend is not local.
        """
        report: DoctorReport = self.store.doctor(repair=repair, gc=gc, progress=progress)
        if gc:
            report.counts["gc_outbox_rows_removed"] = self.queue.prune_outbox()
        return report

    # -- governance --------------------------------------------------------------------------
    def audit(self, **options: Any) -> AuditReport:
        """Audit the lake against its controls (see :func:`lakeward.governance.audit.run_audit`).

        Options: ``scrub`` (re-read every object, default True), ``progress``, ``buckets``,
        ``workers``. The lake's audit log is checked too (LW.LOG.1, LW.LOG.2) when it has one.
        """
        from lakeward.governance.audit import run_audit

        try:
            log: AuditLog | None = self.audit_log
        except ConfigError:  # an aws lake without a logs bucket keeps no audit log
            log = None
        return run_audit(self.config, self.store, audit_log=log, **options)

    def cost(
        self, *, as_of: date | None = None, months: int = 12, growth: Sequence[Growth] = ()
    ) -> CostReport:
        """Price the lake now and project ``months`` months (see :mod:`lakeward.governance.cost`).

        Write requests come from the audit log, query cost from the query history (local
        lakes); GET requests are not recorded anywhere, so they are not priced.
        """
        from lakeward.governance.cost import cost_report

        with contextlib.ExitStack() as stack:
            history = self._query_history(stack)
            try:
                log = self.audit_log
            except ConfigError:  # an aws lake without a logs bucket keeps no audit log
                log = None
            return cost_report(
                self.config,
                self.store,
                history,
                log,
                as_of=as_of,
                months=months,
                growth=growth,
                reads=self._counted_reads(),
            )

    def _counted_reads(self) -> list[tuple[date, str, str, str, int]] | None:
        """The GET/LIST requests counted on a local lake (flushed first), else None."""
        self.store  # noqa: B018 - the store holds the counter
        counter = self._auditing.reads if self._auditing is not None else None
        if counter is None:
            return None
        from lakeward.auditlog.requests import RequestCounter

        counter.flush()
        return list(RequestCounter.read(counter.path))

    def _query_history(self, stack: contextlib.ExitStack) -> History | None:
        from lakeward.query import open_query_history

        history = open_query_history(self.config, self.backend_store)
        return stack.enter_context(closing(history)) if history is not None else None

    def plan(self) -> Plan:
        """What :meth:`apply` would change to make the lake what lakeward.yaml declares."""
        from lakeward.governance.plan import make_plan

        return make_plan(self)

    def apply(
        self, plan: Plan | None = None, *, on_change: Callable[[Change], None] | None = None
    ) -> ApplyResult:
        """Reconcile the lake with lakeward.yaml (see :mod:`lakeward.governance.apply`).

        Raises:
            InvalidRequest: The plan asks for a change AWS forbids; nothing was written.
        """
        from lakeward.governance.apply import apply_plan

        return apply_plan(self, plan, on_change=on_change)


def _as_date(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidRequest(
            f"ingest date {value!r} is not a date: write it as YYYY-MM-DD"
        ) from exc


def load_lake(path: str | Path | None = None, *, role: str | None = None, **overrides: Any) -> Lake:
    """Open a lake: ``load_lake()`` reads ``./lakeward.yaml`` (or defaults).

    Args:
        path: The config file or its folder.
        role: Act as this role of ``roles:`` (every store request is authorized).
        **overrides: Dotted keys with ``__`` for dots, e.g. ``backend__root="/tmp/l"``.
    """
    dotted = {key.replace("__", "."): value for key, value in overrides.items()}
    return Lake.open(path, overrides=dotted, role=role)
