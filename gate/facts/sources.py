"""Fact sources gate builds from its settings: what the registry and the scanner say.

:class:`FetchedFacts` is the source of the admission and signing paths, where gate fetches
its own facts: platforms from the registry (content verified by digest) and
vulnerabilities from Artifact Analysis, or from a local report when one is given. The
registry client contacts only the names the policy set lets it fetch: it asks the
engine (``Engine.fetchable``, once per policy set), so the rule has one copy, in Rego.

    >>> from gate.config import Settings
    >>> from gate.policy.engines import create_engine
    >>> settings = Settings(scan_source="none")
    >>> source = build_fact_source(settings, create_engine(settings))
    >>> source.local, source.registry.approved()
    (False, ('*-docker.pkg.dev/**',))
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gate.config import Settings
from gate.errors import GateError
from gate.facts.interface import FactSource, ImageFacts, Platform
from gate.facts.provenance.interface import EvidenceSource
from gate.facts.provenance.source import build_evidence_source, with_evidence
from gate.facts.registry import (
    Authenticator,
    ClientOptions,
    CredentialStore,
    Deadline,
    DockerConfig,
    RegistryClient,
    RegistryError,
    fetch_platforms,
)
from gate.facts.registry.transport import TransportOptions
from gate.facts.scans.interface import ScanError, ScanResult, ScanSource
from gate.policy.interface import Engine
from gate.reference import ImageRef


@dataclass
class FetchedFacts(FactSource):
    """Platforms from the registry; the scan from ``scanner``, or ``report`` when given."""

    registry: RegistryClient
    scanner: ScanSource | None = None
    report: ScanResult | None = None
    platforms: tuple[str, ...] = ()
    evidence: EvidenceSource | None = None  # provenance and signatures, when trust is set

    def gather(self, ref: ImageRef, deadline: float) -> tuple[ImageRef, ImageFacts]:
        """Each source on its own: one that fails leaves its error in the facts, and the
        policies judge the rest. Only a reference that cannot be resolved stops here."""
        errors: list[GateError] = []
        platforms: tuple[Platform, ...] = ()
        try:
            fetched = fetch_platforms(
                self.registry, ref, Deadline(deadline), self.platforms or None
            )
            ref, platforms = fetched.reference, fetched.platforms
            errors += fetched.errors
        except RegistryError as exc:
            if ref.digest is None:
                raise  # no digest: nothing else can be looked up
            errors.append(exc)
        facts = ImageFacts(platforms=platforms)
        # Provenance and signatures before the scan: the scan may wait minutes for Artifact
        # Analysis (its own limit, --scan-wait), which must not eat the fetch deadline.
        if self.evidence is not None and ref.digest is not None:
            facts = with_evidence(facts, self.evidence.evidence(ref, deadline))
        scan = self.report
        if scan is None and self.scanner is not None:
            try:
                scan = self.scanner.scan(ref.normalized)
            except ScanError as exc:
                errors.append(exc)
        return ref, replace(facts, vulnerabilities=scan, errors=(*errors, *facts.errors))


def build_fact_source(
    settings: Settings,
    engine: Engine,
    *,
    report: ScanResult | None = None,
    cache: tuple[int, int] | None = None,
) -> FetchedFacts:
    """The registry client and scanner that ``settings`` describe; the registry client
    contacts only what ``engine``'s policy set lets it fetch.

    ``cache`` (entries, bytes) sizes the registry client's cache of content by digest.
    """
    registry = build_registry_client(settings, engine, cache=cache)
    return FetchedFacts(
        registry=registry,
        scanner=build_scanner(settings),
        report=report,
        platforms=settings.platforms,
        evidence=build_evidence_source(settings, registry),
    )


def build_registry_client(
    settings: Settings, engine: Engine, *, cache: tuple[int, int] | None = None
) -> RegistryClient:
    options = ClientOptions(
        approved=engine.fetchable,
        transport=TransportOptions(
            insecure_hosts=settings.insecure_registries,
            ca_bundle=settings.registry_ca_bundle or None,
        ),
    )
    if cache is not None:
        options = replace(options, cache_entries=cache[0], cache_bytes=cache[1])
    docker_config = DockerConfig.load(settings.docker_config or None)
    return RegistryClient(options, auth=Authenticator(CredentialStore(docker_config)))


def build_scanner(settings: Settings) -> ScanSource | None:
    if settings.scan_source == "none":
        return None
    from gate.facts.scans.artifact_analysis import ArtifactAnalysis, ArtifactAnalysisSettings

    return ArtifactAnalysis(
        ArtifactAnalysisSettings(
            endpoint=settings.google_endpoint(settings.artifact_analysis_endpoint),
            project=settings.artifact_analysis_project,
            fixability=settings.fixability,
            wait_timeout=settings.scan_wait,
        )
    )
