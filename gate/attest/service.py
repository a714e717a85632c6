"""The attest flow (``gate attest IMAGE…``, the Cloud Build signing step), as a function.

For each image: the injected ``evaluator`` resolves the reference to a digest, fetches
the facts itself and evaluates the policies; the digest is reported; only an allowed
decision with no error is signed, and only in ``check-and-sign`` mode. Results keep
``denied`` (policy said no), ``errored`` (could not decide or could not sign),
``attested``, ``already attested`` and ``allowed`` (check-only) apart, like Voucher.
``dry_run`` returns the occurrence that would be created, unsigned, and stores nothing.

    >>> from gate.evaluate import Evaluation
    >>> from gate.facts.interface import ImageFacts
    >>> from gate.policy.interface import Decision
    >>> from gate.reference import parse_reference
    >>> def evaluator(image):
    ...     ref = parse_reference(image + "@sha256:" + "d" * 64)
    ...     return Evaluation(ref, ImageFacts(), Decision(allowed=False))
    >>> report = attest_images(["gcr.io/p/app"], evaluator=evaluator, mode=Mode.CHECK_ONLY)
    >>> report.results[0].status.value, report.exit_code
    ('denied', 1)
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gate.attest.attestor import check_signer
from gate.attest.binauthz import Attestations
from gate.attest.signers.interface import Signer
from gate.errors import ConfigError, GateError
from gate.evaluate import Evaluation
from gate.policy.interface import Decision, ErrorRecord

Evaluator = Callable[[str], Evaluation]  # resolve, gather the facts, decide


class Mode(enum.Enum):
    CHECK_ONLY = "check-only"
    CHECK_AND_SIGN = "check-and-sign"


class Status(enum.Enum):
    ALLOWED = "allowed"  # check-only: the policies allow it, nothing signed
    DENIED = "denied"
    ERRORED = "errored"
    ATTESTED = "attested"
    ALREADY_ATTESTED = "already attested"
    DRY_RUN = "dry run"


@dataclass(frozen=True)
class ImageResult:
    image: str  # as given
    status: Status
    resolved: str = ""  # registry/repository@sha256:…, once known
    message: str = ""
    decision: Decision | None = None
    errors: tuple[ErrorRecord, ...] = ()
    occurrence: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "status": self.status.value,
            "resolved": self.resolved,
            "message": self.message,
            "decision": self.decision.to_dict() if self.decision else None,
            "errors": [vars(e) for e in self.errors],
            "occurrence": self.occurrence,
        }


@dataclass(frozen=True)
class AttestReport:
    mode: Mode
    dry_run: bool
    results: tuple[ImageResult, ...] = field(default_factory=tuple)

    @property
    def exit_code(self) -> int:
        """2 if any image errored, else 1 if any was denied, else 0."""
        statuses = {r.status for r in self.results}
        return 2 if Status.ERRORED in statuses else 1 if Status.DENIED in statuses else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode.value,
            "dry_run": self.dry_run,
            "exit_code": self.exit_code,
            "results": [r.to_dict() for r in self.results],
        }


def attest_images(
    images: Sequence[str],
    *,
    evaluator: Evaluator,
    mode: Mode = Mode.CHECK_AND_SIGN,
    attestations: Attestations | None = None,
    signer: Signer | None = None,
    dry_run: bool = False,
    progress: Callable[[str], None] = lambda line: None,
) -> AttestReport:
    """Evaluate, and in check-and-sign mode attest, every image; never raises per image.

    A signer the attestor does not list raises before any image is evaluated.
    """
    if mode is Mode.CHECK_AND_SIGN:
        if attestations is None or signer is None:
            raise ConfigError(
                "check-and-sign needs an attestor and a key",
                hint="pass --attestor projects/P/attestors/A and --key …, or use check-only",
            )
        check_signer(attestations.attestor, signer)
    results = [
        _one(image, evaluator, mode, attestations, signer, dry_run, progress) for image in images
    ]
    return AttestReport(mode, dry_run, tuple(results))


def _one(
    image: str,
    evaluator: Evaluator,
    mode: Mode,
    attestations: Attestations | None,
    signer: Signer | None,
    dry_run: bool,
    progress: Callable[[str], None],
) -> ImageResult:
    try:
        evaluation = evaluator(image)
    except GateError as exc:
        return _errored(image, "", exc, None)
    ref, decision = evaluation.resolved, evaluation.decision
    resolved = f"{ref.name}@{ref.digest}" if ref is not None and ref.digest else ""
    if resolved:
        progress(f"{image}: resolved to {resolved}")
    if decision.errors:
        first = decision.errors[0]
        message = f"could not decide: {first.message}" + (f" ({first.hint})" if first.hint else "")
        return ImageResult(image, Status.ERRORED, resolved, message, decision, decision.errors)
    if not decision.allowed:
        count = len(decision.violations)
        message = f"denied by policy ({count} violation{'s' if count != 1 else ''}); not signed"
        return ImageResult(image, Status.DENIED, resolved, message, decision)
    if ref is None or not resolved:
        error = GateError(f"{image} was not resolved to a digest", hint="nothing is signed")
        return _errored(image, resolved, error, decision)
    if mode is Mode.CHECK_ONLY:
        return ImageResult(image, Status.ALLOWED, resolved, "allowed (check-only)", decision)
    assert attestations is not None and signer is not None
    try:
        outcome = attestations.attest(ref, signer, dry_run=dry_run)
    except GateError as exc:
        return _errored(image, resolved, exc, decision)
    status = {"created": Status.ATTESTED, "exists": Status.ALREADY_ATTESTED}.get(
        outcome.status, Status.DRY_RUN
    )
    progress(f"{image}: {status.value}: {outcome.message}")
    return ImageResult(
        image, status, resolved, outcome.message, decision, occurrence=outcome.occurrence_dict()
    )


def _errored(image: str, resolved: str, exc: GateError, decision: Decision | None) -> ImageResult:
    record = ErrorRecord(exc.kind, exc.message, exc.hint)
    message = exc.message + (f" ({exc.hint})" if exc.hint else "")
    return ImageResult(image, Status.ERRORED, resolved, message, decision, (record,))
