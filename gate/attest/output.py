"""``gate attest`` and ``gate verify`` reports as text or JSON, and the JSON document of a run
that stopped before any image was judged (``--output json`` prints one whatever happens).

    >>> import json
    >>> from gate.attest.service import AttestReport, Mode
    >>> json.loads(ATTEST_OUTPUTS["json"].render(AttestReport(Mode.CHECK_ONLY, dry_run=False)))
    {'dry_run': False, 'errors': [], 'exit_code': 0, 'mode': 'check-only', 'results': []}
    >>> from gate.errors import GateError
    >>> json.loads(attest_error_document(GateError("no key"), mode="check-and-sign",
    ...     dry_run=False))["errors"][0]["message"]
    'no key'
"""

from __future__ import annotations

import json

from gate.attest.service import AttestReport
from gate.attest.verify import VerifyResult
from gate.errors import GateError
from gate.report.decision import error_records
from gate.report.interface import Renderers, TextRenderer


class AttestText(TextRenderer[AttestReport]):
    """Each image's status and reference judged, then the counts by status."""

    def render(self, result: AttestReport) -> str:
        lines = [
            f"{r.status.value:<17} {r.resolved or r.image}"
            + (f"\n                  {r.message}" if r.message else "")
            for r in result.results
        ]
        counts: dict[str, int] = {}
        for item in result.results:
            counts[item.status.value] = counts.get(item.status.value, 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in counts.items())
        return "\n".join([*lines, f"{len(result.results)} image(s): {summary}"])


class AttestJson(TextRenderer[AttestReport]):
    def render(self, result: AttestReport) -> str:
        return json.dumps({**result.to_dict(), "errors": []}, indent=2, sort_keys=True)


class VerifyText(TextRenderer[VerifyResult]):
    """The verdict, the signatures, then each attestation with why it is (in)valid."""

    def render(self, result: VerifyResult) -> str:
        lines = [result.summary(), *(result.signatures.lines() if result.signatures else [])]
        for check in result.checks:
            verdict = "valid" if result.confirmed(check) else "invalid"
            lines.append(f"  {verdict:<8} {check.name}")
            lines += [f"           {reason}" for reason in check.check.reasons]
            if check.name in result.confirmations:
                confirmation = result.confirmations[check.name]
                lines.append(f"           Binary Authorization: {confirmation}")
        return "\n".join(lines)


class VerifyJson(TextRenderer[VerifyResult]):
    def render(self, result: VerifyResult) -> str:
        return json.dumps({**result.to_dict(), "errors": []}, indent=2, sort_keys=True)


ATTEST_OUTPUTS: Renderers[AttestReport] = {"text": AttestText(), "json": AttestJson()}
VERIFY_OUTPUTS: Renderers[VerifyResult] = {"text": VerifyText(), "json": VerifyJson()}


def attest_error_document(error: GateError, *, mode: str | None, dry_run: bool) -> str:
    """The ``--output json`` document of an attest run stopped before any image was judged
    (settings, attestor, key, KMS): the report's keys, no result, ``errors`` filled."""
    document = {
        "mode": mode,
        "dry_run": dry_run,
        "exit_code": 2,
        "results": [],
        "errors": error_records([error]),
    }
    return json.dumps(document, indent=2, sort_keys=True)


def verify_error_document(error: GateError, *, image: str, attestor: str | None) -> str:
    """The ``--output json`` document of a verification that could not be made."""
    document = {
        "image": image,
        "attestor": attestor or "",
        "verified": False,
        "occurrences": [],
        "errors": error_records([error]),
    }
    return json.dumps(document, indent=2, sort_keys=True)
