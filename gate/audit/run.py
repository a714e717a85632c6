"""One audit run, start to end, and what it found (:class:`AuditRun`).

:class:`Auditor` holds what lasts between runs of ``gate audit --every``: the Kubernetes
client, the engine, the registry client (content by digest is immutable, so manifests and
configs stay cached), the evaluation pool, the metrics and the last statuses. Each run
reads the cluster, gathers every image's facts afresh (scan results are always read
again, so a CVE published since the last run shows), judges, then writes reports,
Events, log lines and gauges. A run that cannot list the cluster fails as a whole and
changes nothing; a report, an Event or an image that fails is an error of the run, and
the rest goes on.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from gate.audit.events import emit_changes, status_of
from gate.audit.inventory import Inventory, take_inventory
from gate.audit.judge import Judge, Verdict
from gate.audit.kube import KubeApi, KubeError
from gate.audit.logs import log_summary, log_verdict
from gate.audit.metrics import AuditMetrics
from gate.audit.record import AuditRun, Phases
from gate.audit.reports import REPORT_KINDS, cluster_report, workload_report
from gate.audit.store import Previous, ReportStore
from gate.config import Settings
from gate.errors import GateError
from gate.facts.interface import FactSource
from gate.policy.engines import policy_source
from gate.policy.interface import Engine
from gate.webhook.attestation import AttestationRequirement
from gate.webhook.cache import CachedFacts, facts_cache
from gate.webhook.evaluator import ImageEvaluator
from gate.webhook.modes import ModeTable

log = logging.getLogger(__name__)


class Auditor:
    def __init__(
        self,
        settings: Settings,
        api: KubeApi,
        engine: Engine,
        *,
        facts: FactSource | None = None,
        attestations: AttestationRequirement | None = None,
        log_workloads: bool = True,
    ) -> None:
        self.settings, self.api, self.engine = settings, api, engine
        audit, webhook = settings.audit, settings.webhook
        self.policies = policy_source(settings)
        self.modes = ModeTable.from_settings(webhook)
        self.exempt = tuple(webhook.exempt())
        self.pool = ThreadPoolExecutor(audit.concurrency, thread_name_prefix="gate-audit")
        self.metrics = AuditMetrics()
        self.store = (
            None
            if audit.reports == "none"
            else ReportStore(
                api,
                REPORT_KINDS[audit.reports],
                page_size=audit.page_size,
                concurrency=audit.api_concurrency,
            )
        )
        if attestations is None and webhook.required_attestors:
            from gate.webhook.attestors import build_requirement

            attestations = build_requirement(settings)
        self.attestations = attestations
        self.log_workloads = log_workloads
        self._facts = facts
        self._memory: dict[str, Previous] = {}

    def run(self) -> AuditRun:
        began, clock = datetime.now(UTC), time.monotonic()
        run = AuditRun(began, exempt=self.exempt)
        phase = Phases(run.phases)
        try:
            with phase("list"):
                run.inventory = take_inventory(
                    self.api, self.exempt, page_size=self.settings.audit.page_size
                )
        except GateError as exc:
            run.errors.append(exc)
            run.seconds = time.monotonic() - clock
            self.metrics.failed(started=began.timestamp(), seconds=run.seconds)
            log.error("audit failed: %s (hint: %s)", exc.message, exc.hint)
            return run
        with phase("judge"):
            run.verdicts = self._judge(run.inventory, clock + self.settings.audit.timeout)
        if self.log_workloads:
            for verdict in run.verdicts:
                log_verdict(verdict)
        with phase("reports"):
            previous = self._publish(run, began)
        if self.settings.audit.events:
            with phase("events"):
                run.events, failed = emit_changes(
                    self.api,
                    run.verdicts,
                    previous,
                    concurrency=self.settings.audit.api_concurrency,
                )
            run.errors += failed
        self._memory = {v.workload.ref.uid: status_of(v) for v in run.verdicts}
        run.seconds = time.monotonic() - clock
        self.metrics.completed(
            run.verdicts,
            images=run.summary()["images"],
            pods=run.inventory.pods,
            errors=run.error_counts(),
            started=began.timestamp(),
            seconds=run.seconds,
        )
        if self.log_workloads:
            log_summary(run.summary(), run.seconds)
        return run

    def close(self) -> None:
        """Stop the pool; its threads end (and drop their copies of the engine) first."""
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _judge(self, inventory: Inventory, deadline: float) -> list[Verdict]:
        audit = self.settings.audit
        kept = facts_cache(
            len(inventory.workloads) * 4 + 16, audit.timeout + 60, audit.facts_cache_bytes
        )
        facts = CachedFacts(self.fact_source(), kept)
        evaluator = ImageEvaluator(
            self.engine,
            facts,
            self.pool,
            budget=audit.timeout,
            attestations=self.attestations,
        )
        judge = Judge(
            self.engine,
            evaluator,
            self.modes,
            honour_break_glass=self.settings.webhook.break_glass,
            fail_open=self.settings.webhook.fail_open,
        )
        return judge.judge(inventory.workloads, deadline)

    def _publish(self, run: AuditRun, began: datetime) -> dict[str, Previous]:
        """Write the reports; the last statuses (from the reports, else from memory)."""
        if self.store is None:
            return self._memory
        kind = REPORT_KINDS[self.settings.audit.reports]
        catalog = {info.id: info for info in self.policies.current().catalog.values()}
        try:
            existing = self.store.existing()
        except KubeError as exc:
            run.errors.append(exc)
            log.error("audit reports not written: %s (hint: %s)", exc.message, exc.hint)
            return self._memory
        reports = [workload_report(kind, v, catalog, began) for v in run.verdicts]
        cluster = cluster_report(kind, run.verdicts, catalog, began)
        run.written = self.store.write(reports, cluster, existing)
        run.errors += run.written.errors
        previous = dict(Previous.of(meta) for meta in existing.values())
        return {uid: p for uid, p in previous.items() if uid} or self._memory

    def fact_source(self) -> FactSource:
        """Trial facts are read again each run; fetched facts keep one registry client (its
        cache of content by digest), which asks the engine what it may fetch, so it follows
        policy reloads."""
        if self._facts is not None:
            return self._facts
        from gate.facts.sources import build_fact_source
        from gate.webhook.facts import default_fact_source

        webhook = self.settings.webhook
        if webhook.trial_metadata or webhook.trial_scan:
            return default_fact_source(self.settings, self.engine)
        audit = self.settings.audit
        cache = (audit.registry_cache_entries, audit.registry_cache_bytes)
        self._facts = build_fact_source(self.settings, self.engine, cache=cache)
        return self._facts
