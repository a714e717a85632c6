"""Artifact Analysis (Container Analysis, a Grafeas v1 API) as a vulnerability source.

For ``REGISTRY/REPOSITORY@sha256:…`` it reads, in ``projects/PROJECT`` (the setting,
else the project in an Artifact Registry or gcr.io name): the DISCOVERY occurrence of
``https://REGISTRY/REPOSITORY@sha256:…`` (note ``goog-analysis/PACKAGE_VULNERABILITY``),
waited for with exponential backoff up to ``wait_timeout`` while MISSING, PENDING or
SCANNING; then, once FINISHED_SUCCESS, every page of the VULNERABILITY occurrences,
normalised by :mod:`gate.facts.scans.occurrences`. A scan that is unfinished, failed,
unsupported or absent is a result (status and reason, on which policies deny), not an
error; failed calls raise :class:`ScanError` with a hint.

    >>> ArtifactAnalysis().resource("gcr.io/acme/api@sha256:" + "a" * 64).project
    'acme'
    >>> source = ArtifactAnalysis(ArtifactAnalysisSettings(wait_timeout=300),
    ...                           progress=lambda p: print(p.status))      # doctest: +SKIP
    >>> source.scan("us-docker.pkg.dev/acme/app/api@sha256:…").status       # doctest: +SKIP
    'FINISHED_SUCCESS'
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from google.api_core import exceptions as gexc
from google.api_core import retry as gretry
from grafeas.grafeas_v1 import GrafeasClient, ListOccurrencesRequest, Occurrence
from grafeas.grafeas_v1.services.grafeas.transports import GrafeasGrpcTransport

from gate.errors import GateError
from gate.facts.google import GoogleEndpoint, ImageResource, image_resource, rpc_error
from gate.facts.scans import occurrences as occ
from gate.facts.scans.interface import ScanError, ScanResult, ScanSource, VulnerabilityFinding

DEFAULT_HOST = "containeranalysis.googleapis.com"
FINAL = ("FINISHED_SUCCESS", "FINISHED_FAILED", "FINISHED_UNSUPPORTED")
DISCOVERY_FILTER = (
    'resourceUrl="{}" AND noteProjectId="goog-analysis" AND noteId="PACKAGE_VULNERABILITY"'
)
VULNERABILITY_FILTER = 'kind="VULNERABILITY" AND resourceUrl="{}"'
_RETRY = gretry.Retry(gretry.if_exception_type(gexc.ServiceUnavailable), initial=0.2, maximum=2.0)
HINTS: dict[type[gexc.GoogleAPICallError], str] = {
    gexc.PermissionDenied: "grant the caller roles/containeranalysis.occurrences.viewer "
    "on project {project}",
    gexc.NotFound: "check the project ({project}): it must exist and be where the image is scanned",
}


@dataclass(frozen=True)
class ArtifactAnalysisSettings:
    """``project``: overrides the image name's; ``fixability``: ``any`` (default) or
    ``all`` (see :mod:`~gate.facts.scans.occurrences`); ``wait_timeout``: seconds to wait
    for a scan to finish (0: look once), looking again after ``initial_backoff`` seconds,
    doubling up to ``max_backoff``; ``rpc_timeout``: per call, UNAVAILABLE retried within
    it; ``max_occurrences``: refuse more (a guard against endless paging)."""

    endpoint: GoogleEndpoint = field(default_factory=GoogleEndpoint)
    project: str = ""
    fixability: str = occ.DEFAULT_FIXABILITY
    wait_timeout: float = 0.0
    initial_backoff: float = 2.0
    max_backoff: float = 30.0
    rpc_timeout: float = 30.0
    page_size: int = 1000
    max_occurrences: int = 100_000


@dataclass(frozen=True)
class WaitProgress:
    """One look at the scan status while waiting; ``next_check`` is 0 on the last."""

    image: str
    status: str
    elapsed: float
    next_check: float


class ArtifactAnalysis(ScanSource):
    """Vulnerabilities and scan status from Artifact Analysis, over the Grafeas client."""

    name = "Artifact Analysis"

    def __init__(
        self,
        settings: ArtifactAnalysisSettings | None = None,
        *,
        progress: Callable[[WaitProgress], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or ArtifactAnalysisSettings()
        if self.settings.fixability not in occ.FIXABILITY:
            raise ScanError(
                f"unknown fixability {self.settings.fixability!r}",
                hint=f"choose one of {', '.join(occ.FIXABILITY)}",
            )
        self.progress, self._sleep, self._clock = progress, sleep, clock
        self._client: GrafeasClient | None = None
        self._lock = threading.Lock()

    def scan(self, image: str) -> ScanResult:
        """Wait for the scan (up to ``wait_timeout``), then read its findings if it succeeded."""
        target = self.resource(image)
        status, detail = self.wait(image)
        found = self.vulnerabilities(image) if status == "FINISHED_SUCCESS" else ()
        if status == "FINISHED_SUCCESS":
            detail = f"Artifact Analysis scan of {target.url} finished: {len(found)} finding(s)"
        result = ScanResult("artifact-analysis", found, (target.digest,), artifact=target.url)
        return replace(result, status=status, detail=detail)

    def resource(self, image: str) -> ImageResource:
        """The image's resource URL and project (:class:`ScanError` if it has neither)."""
        try:
            return image_resource(image, self.settings.project)
        except GateError as exc:
            raise ScanError(f"cannot look up scans of {image!r}: {exc}", hint=exc.hint) from exc

    def status(self, image: str) -> tuple[str, str]:
        """One look: ``(status, detail)``; MISSING when there is no DISCOVERY occurrence."""
        target = self.resource(image)
        found = occ.latest_discovery(self._list(target, DISCOVERY_FILTER))
        if found is None:
            return "MISSING", (
                f"no Artifact Analysis discovery occurrence for {target.url} in projects/"
                f"{target.project}: the image was not scanned (is the Container Scanning API "
                "enabled, and was the image pushed to Artifact Registry after that?)"
            )
        status, reason = occ.discovery_status(found)
        reason = reason or "no reason given"
        details = {
            "PENDING": f"scan of {target.url} not finished: PENDING",
            "SCANNING": f"scan of {target.url} not finished: SCANNING",
            "FINISHED_FAILED": f"Artifact Analysis failed to scan {target.url}: {reason}",
            "FINISHED_UNSUPPORTED": f"Artifact Analysis does not support {target.url}: {reason}",
        }
        return status, details.get(status, "")

    def wait(self, image: str, timeout: float | None = None) -> tuple[str, str]:
        """Look until the scan is finished or ``timeout`` (default: the setting) passes,
        with exponential backoff; every look is reported to ``progress``."""
        limit = self.settings.wait_timeout if timeout is None else timeout
        start, delay = self._clock(), self.settings.initial_backoff
        while True:
            status, detail = self.status(image)
            elapsed = self._clock() - start
            pause = 0.0 if status in FINAL else max(0.0, min(delay, limit - elapsed))
            if self.progress:
                self.progress(WaitProgress(image, status, elapsed, pause))
            if pause <= 0:
                waited = f" (still {status} after waiting {elapsed:.1f}s)" if limit > 0 else ""
                return status, detail + ("" if status in FINAL else waited)
            self._sleep(pause)
            delay = min(delay * 2, self.settings.max_backoff)

    def vulnerabilities(self, image: str) -> tuple[VulnerabilityFinding, ...]:
        """Every VULNERABILITY occurrence of the image (all pages), as findings."""
        found = self._list(self.resource(image), VULNERABILITY_FILTER)
        return occ.findings(found, self.settings.fixability)

    def occurrences(self, image: str, filter_template: str) -> list[Occurrence]:
        """Every occurrence of the image matching ``filter_template`` (``{}``: its resource
        URL), all pages; :class:`ScanError` on a failed call."""
        return self._list(self.resource(image), filter_template)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.transport.close()  # type: ignore[no-untyped-call]
                self._client = None

    def _grafeas(self) -> GrafeasClient:
        with self._lock:
            if self._client is None:
                try:
                    channel = self.settings.endpoint.channel(DEFAULT_HOST)
                except GateError as exc:
                    raise ScanError(f"Artifact Analysis: {exc}", hint=exc.hint) from exc
                self._client = GrafeasClient(transport=GrafeasGrpcTransport(channel=channel))
            return self._client

    def _list(self, target: ImageResource, filter_template: str) -> list[Occurrence]:
        s = self.settings
        request = ListOccurrencesRequest(
            parent=f"projects/{target.project}",
            filter=filter_template.format(target.url),
            page_size=s.page_size,
        )
        found: list[Occurrence] = []
        try:
            for item in self._grafeas().list_occurrences(
                request=request, retry=_RETRY.with_timeout(s.rpc_timeout), timeout=s.rpc_timeout
            ):
                found.append(item)
                if len(found) > s.max_occurrences:
                    raise ScanError(
                        f"more than {s.max_occurrences} occurrences match {request.filter}",
                        hint="raise max_occurrences if the image really has that many",
                    )
        except gexc.GoogleAPIError as exc:
            doing = f"Artifact Analysis: listing occurrences of {target.url} in {request.parent}"
            where = {"project": target.project, "target": s.endpoint.target(DEFAULT_HOST)}
            raise rpc_error(
                exc, doing, ScanError, service=DEFAULT_HOST, overrides=HINTS, **where
            ) from exc
        return found
