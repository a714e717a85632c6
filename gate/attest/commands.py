"""``gate attest`` and ``gate verify`` as functions: build the clients, run, close, render.

The CLI (wiring only) maps flags and :class:`~gate.config.Settings` onto
:class:`ApiEndpoints` and calls :func:`attest_command` with its evaluator (resolve the
image, fetch its facts, evaluate) or :func:`verify_command`; the renderers of
:mod:`gate.attest.output` give the text and JSON reports. Clients are closed before
returning.

    >>> from gate.facts.google import GoogleEndpoint
    >>> local = GoogleEndpoint(api_endpoint="127.0.0.1:8555", plaintext=True, anonymous=True)
    >>> ApiEndpoints.same(local).kms.api_endpoint
    '127.0.0.1:8555'
    >>> from gate.attest.evaluator import fetched_evaluator
    >>> evaluate = fetched_evaluator(engine, build_fact_source(settings, engine),
    ...                              fetch_timeout=60)                       # doctest: +SKIP
    >>> report = attest_command(images, evaluator=evaluate, attestor="projects/p/attestors/a",
    ...                         key=key_version, endpoints=ApiEndpoints())   # doctest: +SKIP
    >>> from gate.attest.output import ATTEST_OUTPUTS
    >>> print(ATTEST_OUTPUTS["text"].render(report))                         # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from gate.attest.binauthz import Attestations, read_attestor
from gate.attest.clients import binauthz_client, close, grafeas_client, validation_client
from gate.attest.service import AttestReport, Evaluator, Mode, attest_images
from gate.attest.signatures import SignatureCheck
from gate.attest.signers import SignerOptions, load_signer
from gate.attest.store import OccurrenceStore
from gate.attest.verify import VerifyResult, verify_image
from gate.config import Settings
from gate.errors import ConfigError, InvalidReference
from gate.facts.google import GoogleEndpoint
from gate.reference import ImageRef, parse_reference


@dataclass(frozen=True)
class ApiEndpoints:
    """Where the three Google APIs are (each: default host over TLS with ADC)."""

    kms: GoogleEndpoint = field(default_factory=GoogleEndpoint)
    binauthz: GoogleEndpoint = field(default_factory=GoogleEndpoint)
    containeranalysis: GoogleEndpoint = field(default_factory=GoogleEndpoint)
    timeout: float = 30.0

    @classmethod
    def same(cls, endpoint: GoogleEndpoint, timeout: float = 30.0) -> ApiEndpoints:
        """All three APIs behind one endpoint (a local test server, a proxy)."""
        return cls(endpoint, endpoint, endpoint, timeout)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, kms: str = "", binauthz: str = "", timeout: float = 30.0
    ) -> ApiEndpoints:
        """Endpoints with the settings' TLS/credential choices; Container Analysis is
        where Artifact Analysis is (``artifact_analysis_endpoint``)."""
        at = settings.google_endpoint
        return cls(at(kms), at(binauthz), at(settings.artifact_analysis_endpoint), timeout)


def attest_command(
    images: Sequence[str],
    *,
    evaluator: Evaluator,
    attestor: str = "",
    key: str = "",
    endpoints: ApiEndpoints | None = None,
    mode: Mode = Mode.CHECK_AND_SIGN,
    dry_run: bool = False,
    project: str = "",
    signer_options: SignerOptions | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> AttestReport:
    """Evaluate ``images`` and, in check-and-sign mode, attest the allowed ones."""
    apis = endpoints or ApiEndpoints()
    if mode is Mode.CHECK_ONLY:
        return attest_images(images, evaluator=evaluator, mode=mode, progress=progress)
    if not attestor or not key:
        raise ConfigError(
            "check-and-sign needs an attestor and a key",
            hint="pass --attestor projects/P/attestors/A and --key …, or --mode check-only",
        )
    options = replace(
        signer_options or SignerOptions(), kms_endpoint=apis.kms, timeout=apis.timeout
    )
    management = binauthz_client(apis.binauthz)
    try:
        found = read_attestor(management, attestor, timeout=apis.timeout)
    finally:
        close(management)
    grafeas = grafeas_client(apis.containeranalysis)
    try:
        with load_signer(key, options) as signer:
            attestations = Attestations(found, grafeas, project=project, timeout=apis.timeout)
            return attest_images(
                images,
                evaluator=evaluator,
                mode=mode,
                attestations=attestations,
                signer=signer,
                dry_run=dry_run,
                progress=progress,
            )
    finally:
        close(grafeas)


def verify_command(
    image: str,
    *,
    attestor: str,
    endpoints: ApiEndpoints | None = None,
    confirm: bool = False,
    project: str = "",
    resolver: Callable[[ImageRef], ImageRef] | None = None,
    signatures: Callable[[ImageRef], SignatureCheck] | None = None,
) -> VerifyResult:
    """Verify ``image``: its attestations by ``attestor`` (``confirm`` also asks Binary
    Authorization) and, with ``signatures``, its cosign signatures. A tag is resolved with
    ``resolver`` (the registry) when one is given; otherwise a digest is required."""
    if not attestor and signatures is None:
        raise ConfigError(
            "gate verify needs the attestor whose attestations to check, or trusted keys "
            "to check signatures with",
            hint="pass --attestor projects/P/attestors/A (or set GATE_ATTESTOR), or "
            "--trusted-key (GATE_TRUSTED_KEYS)",
        )
    ref = parse_reference(image)
    if ref.digest is None and resolver is not None:
        ref = resolver(ref)
    if ref.digest is None:
        raise InvalidReference(
            f"gate verify needs a digest: {image}",
            hint="attestations are per digest: pass name@sha256:<hex> (gate attest prints it)",
        )
    signed = signatures(ref) if signatures is not None else None
    if not attestor:
        return VerifyResult(f"{ref.name}@{ref.digest}", "", (), signatures=signed)
    apis = endpoints or ApiEndpoints()
    management = binauthz_client(apis.binauthz)
    try:
        found = read_attestor(management, attestor, timeout=apis.timeout)
    finally:
        close(management)
    grafeas = grafeas_client(apis.containeranalysis)
    validator = validation_client(apis.binauthz) if confirm else None
    try:
        store = OccurrenceStore(grafeas, project or found.project, timeout=apis.timeout)
        result = verify_image(ref, found, store, validator=validator, timeout=apis.timeout)
    finally:
        close(grafeas, *([validator] if validator else []))
    return replace(result, signatures=signed)
