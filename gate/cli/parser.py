"""The ``gate`` command line: every subcommand, its flags, and the handler it runs.

Flags default to None, so that :class:`~gate.config.Settings` (``GATE_*``) fills what is
not given.

    >>> build_parser().parse_args(["policies"]).handler.__name__
    'list_policies'
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from gate.cli import cloud, local
from gate.config import ENGINES
from gate.webhook.settings import MODES

if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gate", description="Policy gate for container images.")
    parser.add_argument("--policies", type=Path, help="policy folder or OPA bundle (GATE_POLICIES)")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    _eval_command(commands)
    _local_commands(commands)
    _serve_command(commands)
    _attest_command(commands)
    _audit_command(commands)
    _verify_command(commands)
    return parser


def _data_flag(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--data", type=Path, action="append", help="JSON/YAML over the policy data (GATE_DATA)"
    )


def _engine_flags(command: argparse.ArgumentParser) -> None:
    """--data, --engine and --opa-url: which policy data, and which engine decides."""
    _data_flag(command)
    command.add_argument(
        "--engine", choices=ENGINES, help="embedded (default) or opa (GATE_ENGINE)"
    )
    command.add_argument("--opa-url", help="OPA server URL for --engine opa (GATE_OPA_URL)")


def _insecure_registry_flag(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--insecure-registry", action="append", help="host:port reached over plain HTTP (trials)"
    )


def _eval_command(commands: Commands) -> None:
    evaluate = commands.add_parser("eval", help="evaluate images against the policies")
    evaluate.add_argument("images", nargs="+", metavar="IMAGE")
    evaluate.add_argument("--metadata", type=Path, help="image config or gate metadata JSON")
    evaluate.add_argument("--scan", type=Path, help="Trivy or Grype JSON report")
    _engine_flags(evaluate)
    evaluate.add_argument(
        "--platform",
        action="append",
        help="os/arch[/variant] to check (GATE_PLATFORMS); default all",
    )
    evaluate.add_argument(
        "--scan-wait", type=float, help="seconds to wait for a running scan (GATE_SCAN_WAIT)"
    )
    _insecure_registry_flag(evaluate)
    evaluate.add_argument("--now", type=_timestamp, help="evaluation time (RFC 3339), default now")
    evaluate.add_argument("--output", choices=("table", "json"), default="table")
    evaluate.set_defaults(handler=local.eval_images, failure=local.eval_failure)


def _local_commands(commands: Commands) -> None:
    test = commands.add_parser("test", help="run the policies' Rego unit tests")
    test.add_argument("directory", nargs="?", type=Path)
    test.add_argument("--run", help="only tests whose package.name matches this regex")
    test.add_argument("--output", choices=("text", "junit"), default="text")
    test.set_defaults(handler=local.run_tests)

    listing = commands.add_parser("policies", help="list the policies with id, severity and scope")
    listing.set_defaults(handler=local.list_policies)

    lint = commands.add_parser("lint", help="check Dockerfiles against the Dockerfile policies")
    lint.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="default: ./Dockerfile")
    _engine_flags(lint)
    lint.add_argument("--output", choices=("text", "json", "sarif"), default="text")
    lint.set_defaults(handler=local.lint_dockerfiles)


def _serve_command(commands: Commands) -> None:
    serve = commands.add_parser("serve", help="run the admission webhook (gunicorn, TLS)")
    serve.add_argument("--bind", help="host:port to listen on (GATE_BIND; 0.0.0.0:8443)")
    serve.add_argument(
        "--tls-cert", help="PEM certificate chain, reloaded on change (GATE_TLS_CERT)"
    )
    serve.add_argument("--tls-key", help="PEM private key, reloaded on change (GATE_TLS_KEY)")
    serve.add_argument("--insecure-http", action="store_true", help="plain HTTP, local trials only")
    serve.add_argument("--mode", choices=MODES, help="default enforcement mode (GATE_MODE)")
    serve.add_argument("--budget", type=float, help="seconds per decision (GATE_BUDGET_SECONDS)")
    serve.add_argument("--workers", type=int, help="worker processes (GATE_WORKERS; 2)")
    serve.add_argument("--threads", type=int, help="threads per worker (GATE_THREADS; 16)")
    serve.add_argument(
        "--metadata", help="trials only: facts for every image (GATE_TRIAL_METADATA)"
    )
    serve.add_argument(
        "--scan", help="trials only: a scan report for every image (GATE_TRIAL_SCAN)"
    )
    _engine_flags(serve)
    serve.set_defaults(handler=cloud.serve_webhook)


def _attest_command(commands: Commands) -> None:
    attest = commands.add_parser(
        "attest", help="evaluate images and sign Binary Authorization attestations on allow"
    )
    attest.add_argument("images", nargs="+", metavar="IMAGE")
    attest.add_argument("--attestor", help="projects/P/attestors/A (GATE_ATTESTOR)")
    attest.add_argument("--key", help="KMS key version, pkcs11: URI, or PEM file (GATE_ATTEST_KEY)")
    attest.add_argument(
        "--mode",
        choices=("check-and-sign", "check-only"),
        help="default check-and-sign (GATE_ATTEST_MODE)",
    )
    attest.add_argument("--dry-run", action="store_true", help="print the occurrence, store none")
    attest.add_argument("--attestation-project", help="project of the occurrences (attestor's)")
    attest.add_argument("--kms-endpoint", help="host[:port] of Cloud KMS")
    attest.add_argument("--binauthz-endpoint", help="host[:port] of Binary Authorization")
    attest.add_argument("--public-key-id", help="PKCS#11/PEM keys: id (default ni:///sha-256;…)")
    attest.add_argument(
        "--rsa-padding", choices=("pss", "pkcs1"), help="default pss (GATE_ATTEST_RSA_PADDING)"
    )
    _engine_flags(attest)
    attest.add_argument("--scan-wait", type=float, help="seconds to wait for a running scan")
    _insecure_registry_flag(attest)
    attest.add_argument("--output", choices=("text", "json"), default="text")
    attest.set_defaults(handler=cloud.attest_images, failure=cloud.attest_failure)


def _audit_command(commands: Commands) -> None:
    audit = commands.add_parser(
        "audit", help="judge the workloads a cluster runs now (once, or --every 1h)"
    )
    audit.add_argument(
        "--every", help="run continuously, e.g. 1h, 30m, 900 (GATE_AUDIT_EVERY); default once"
    )
    audit.add_argument("--kubeconfig", help="kubeconfig file (GATE_KUBECONFIG, KUBECONFIG)")
    audit.add_argument("--context", help="kubeconfig context (GATE_KUBE_CONTEXT)")
    audit.add_argument(
        "--reports",
        choices=("policyreport", "openreports", "none"),
        help="report resources to write (GATE_AUDIT_REPORTS; policyreport)",
    )
    audit.add_argument("--no-events", action="store_true", help="write no Events")
    audit.add_argument(
        "--log", action="store_true", help="a JSON log line per violating workload on stderr"
    )
    _engine_flags(audit)
    audit.add_argument("--output", choices=("table", "json"), default="table")
    audit.set_defaults(handler=cloud.audit_cluster, failure=cloud.audit_failure)


def _verify_command(commands: Commands) -> None:
    verify = commands.add_parser(
        "verify", help="verify an image's attestations by an attestor, and its cosign signatures"
    )
    verify.add_argument("image", metavar="IMAGE")
    verify.add_argument("--attestor", help="projects/P/attestors/A (GATE_ATTESTOR)")
    verify.add_argument("--confirm", action="store_true", help="also ask Binary Authorization")
    verify.add_argument("--attestation-project", help="project of the occurrences (attestor's)")
    verify.add_argument("--binauthz-endpoint", help="host[:port] of Binary Authorization")
    verify.add_argument(
        "--trusted-key",
        action="append",
        help="check cosign signatures against this key: PEM file or gcpkms://… (repeatable)",
    )
    verify.add_argument(
        "--sigstore-trusted-root", help="check keyless signatures under this trusted_root.json"
    )
    _insecure_registry_flag(verify)
    _data_flag(verify)
    verify.add_argument("--output", choices=("text", "json"), default="text")
    verify.set_defaults(handler=cloud.verify_image, failure=cloud.verify_failure)


def _timestamp(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 time: {text!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
