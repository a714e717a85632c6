"""The ``gate`` command: wiring only. Each subcommand parses flags over :class:`Settings`
(every flag has a ``GATE_*`` default), calls one function, renders, and exits
0 (allowed / passed), 1 (denied / failed) or 2 (error).

    $ gate eval us-docker.pkg.dev/p/r/app@sha256:… --metadata meta.json --scan trivy.json
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from gate.config import ENGINES, Settings
from gate.errors import GateError, InternalError
from gate.evaluate import evaluate_image
from gate.facts.interface import FactSource
from gate.facts.local import LocalFacts
from gate.facts.metadata import load_metadata
from gate.facts.scans import load_scan_report
from gate.policy.engines import create_engine
from gate.policy.interface import Engine
from gate.policy.loader import load_policy_set
from gate.policy.rego_tests import TEST_OUTPUTS, run_rego_tests
from gate.report.decision import EVAL_OUTPUTS, render_json
from gate.webhook.settings import MODES

EXIT_OK, EXIT_DENIED, EXIT_ERROR = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    console = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    try:
        settings = Settings.from_env().with_changes(
            policies=args.policies,
            engine=getattr(args, "engine", None),
            opa_url=getattr(args, "opa_url", None),
        )
        if getattr(args, "data", None):
            settings = settings.with_changes(
                data_overrides=settings.data_overrides + tuple(args.data)
            )
        code: int = args.handler(args, settings, console)
        return code
    except GateError as exc:
        return _failed(args, exc)
    except Exception as exc:  # a bug exits 2 with a report: 1 would read as "denied"
        traceback.print_exc()
        error = InternalError(
            f"internal error: {type(exc).__name__}: {exc}",
            hint="nothing was signed; report it as a bug with the traceback above",
        )
        return _failed(args, error)


def _failed(args: argparse.Namespace, error: GateError) -> int:
    """Say what went wrong on stderr and, with ``--output json``, as the one JSON document."""
    hint = f"\nhint: {error.hint}" if error.hint else ""
    print(f"error: {error.message}{hint}", file=sys.stderr)
    failure = getattr(args, "failure", None)
    if failure is not None and getattr(args, "output", None) == "json":
        print(failure(args, error))
    return EXIT_ERROR


def _eval(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    settings = settings.with_changes(
        platforms=tuple(args.platform) if args.platform else None,
        scan_wait=args.scan_wait,
        insecure_registries=tuple(args.insecure_registry) if args.insecure_registry else None,
    )
    engine = create_engine(settings)
    source = _fact_source(args, settings, engine)
    deadline = time.monotonic() + settings.fetch_timeout
    results = [
        (image, evaluate_image(engine, image, source, now=args.now, deadline=deadline).decision)
        for image in args.images
    ]
    EVAL_OUTPUTS[args.output].write(results, console)
    if any(decision.errors for _, decision in results):
        return EXIT_ERROR
    return EXIT_OK if all(decision.allowed for _, decision in results) else EXIT_DENIED


def _fact_source(args: argparse.Namespace, settings: Settings, engine: Engine) -> FactSource:
    """Local files when --metadata is given; otherwise gate fetches the facts itself."""
    report = load_scan_report(args.scan) if args.scan else None
    if args.metadata:
        return LocalFacts(load_metadata(args.metadata), report)
    from gate.facts.sources import build_fact_source

    return build_fact_source(settings, engine, report=report)


def _test(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    policy_set = load_policy_set(args.directory or settings.policies, settings.data_overrides)
    results = run_rego_tests(policy_set, args.run or "")
    if not results:
        raise GateError(
            f"no Rego tests found in {policy_set.origin}",
            hint="tests are test_* rules in *_test.rego",
        )
    TEST_OUTPUTS[args.output].write(results, console)
    return EXIT_OK if all(r.passed for r in results) else EXIT_DENIED


def _policies(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from rich.table import Table

    policy_set = load_policy_set(settings.policies, settings.data_overrides)
    table = Table(title=f"Policies in {policy_set.origin}", title_justify="left")
    for column in ("id", "name", "severity", "scope", "title"):
        table.add_column(column)
    for info in sorted(policy_set.catalog.values(), key=lambda i: i.id):
        table.add_row(info.id, info.name, info.severity, info.scope, info.title)
    console.print(table)
    return EXIT_OK


def _lint(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from gate.lint.output import LINT_OUTPUTS, LintRun
    from gate.lint.run import Linter, exit_code, lint_paths

    linter = Linter.from_settings(settings)
    results = lint_paths(args.paths or [Path("Dockerfile")], linter)
    LINT_OUTPUTS[args.output].write(LintRun(results, linter.catalog), console)
    return exit_code(results)


def _serve(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from dataclasses import replace

    from gate.webhook.serve import serve

    flags = {
        "bind": args.bind,
        "tls_cert": args.tls_cert,
        "tls_key": args.tls_key,
        "insecure_http": args.insecure_http or None,
        "mode": args.mode,
        "budget": args.budget,
        "workers": args.workers,
        "threads": args.threads,
        "trial_metadata": args.metadata,
        "trial_scan": args.scan,
    }
    webhook = replace(settings.webhook, **{k: v for k, v in flags.items() if v is not None})
    return serve(settings.with_changes(webhook=webhook.validated()))


def _attest(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from gate.attest.commands import ApiEndpoints, attest_command
    from gate.attest.evaluator import fetched_evaluator
    from gate.attest.output import ATTEST_OUTPUTS
    from gate.attest.service import Mode
    from gate.attest.signers import SignerOptions
    from gate.facts.registry import Deadline
    from gate.facts.sources import build_fact_source

    settings = settings.with_changes(
        scan_wait=args.scan_wait,
        insecure_registries=tuple(args.insecure_registry) if args.insecure_registry else None,
    )
    attest = settings.attest.with_changes(
        attestor=args.attestor,
        key=args.key,
        mode=args.mode,
        attestation_project=args.attestation_project,
        kms_endpoint=args.kms_endpoint,
        binauthz_endpoint=args.binauthz_endpoint,
        public_key_id=args.public_key_id,
        rsa_padding=args.rsa_padding,
    )
    args.mode = attest.mode  # for the error document, should anything fail from here on
    engine = create_engine(settings)
    # The KMS endpoint flag also reaches the trusted keys read for provenance.
    source = build_fact_source(settings.with_changes(attest=attest), engine)
    evaluator = fetched_evaluator(
        engine,
        source,
        fetch_timeout=settings.fetch_timeout,
        resolver=lambda ref, deadline: source.registry.resolve(ref, Deadline(deadline)),
    )
    report = attest_command(
        args.images,
        evaluator=evaluator,
        attestor=attest.attestor,
        key=attest.key,
        endpoints=ApiEndpoints.from_settings(
            settings,
            kms=attest.kms_endpoint,
            binauthz=attest.binauthz_endpoint,
            timeout=attest.google_timeout,
        ),
        mode=Mode(attest.mode),
        dry_run=args.dry_run,
        project=attest.attestation_project,
        signer_options=SignerOptions(
            public_key_id=attest.public_key_id, rsa_padding=attest.rsa_padding
        ),
        progress=lambda line: print(line, file=sys.stderr),
    )
    ATTEST_OUTPUTS[args.output].write(report, console)
    return report.exit_code


def _verify(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from dataclasses import replace

    from gate.attest.commands import ApiEndpoints, verify_command
    from gate.attest.output import VERIFY_OUTPUTS
    from gate.attest.signatures import signature_checker
    from gate.facts.registry import Deadline
    from gate.facts.sources import build_registry_client
    from gate.reference import ImageRef

    settings = settings.with_changes(
        insecure_registries=tuple(args.insecure_registry) if args.insecure_registry else None
    )
    attest = settings.attest.with_changes(
        attestor=args.attestor,
        attestation_project=args.attestation_project,
        binauthz_endpoint=args.binauthz_endpoint,
    )
    args.attestor = attest.attestor  # for the error document, should anything fail
    registry = build_registry_client(settings, create_engine(settings))

    def resolve(ref: ImageRef) -> ImageRef:
        return ref.with_digest(registry.resolve(ref, Deadline.after(settings.fetch_timeout)))

    signatures = None
    if args.trusted_key or args.sigstore_trusted_root:  # cosign verify --key, in gate's terms
        trust = replace(
            settings.trust,
            trusted_keys=tuple(args.trusted_key or ()),
            sigstore_trusted_root=args.sigstore_trusted_root or "",
        )
        signatures = signature_checker(settings.with_changes(trust=trust), registry)
    result = verify_command(
        args.image,
        attestor=attest.attestor,
        endpoints=ApiEndpoints.from_settings(
            settings, binauthz=attest.binauthz_endpoint, timeout=attest.google_timeout
        ),
        confirm=args.confirm,
        project=attest.attestation_project,
        resolver=resolve,
        signatures=signatures,
    )
    VERIFY_OUTPUTS[args.output].write(result, console)
    return result.exit_code


def _audit(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    import signal
    import threading
    from dataclasses import replace

    from gate.audit.kube import connect
    from gate.audit.render import AUDIT_OUTPUTS
    from gate.audit.run import Auditor
    from gate.audit.service import run_every
    from gate.webhook.logging import configure_logging

    flags = {"every": args.every, "kubeconfig": args.kubeconfig, "kube_context": args.context}
    flags |= {"reports": args.reports, "events": False if args.no_events else None}
    audit = replace(settings.audit, **{k: v for k, v in flags.items() if v is not None})
    settings = settings.with_changes(audit=audit.validated())
    continuous = audit.interval > 0
    if continuous or args.log:
        configure_logging(settings.webhook.log_level)
    api = connect(audit, pool=audit.concurrency + audit.api_concurrency)
    auditor = Auditor(settings, api, create_engine(settings), log_workloads=continuous or args.log)
    if continuous:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        return run_every(auditor, audit.interval, stop, metrics_bind=audit.metrics_bind)
    try:
        run = auditor.run()
    finally:
        auditor.close()
    AUDIT_OUTPUTS[args.output].write(run, console)
    return run.exit_code


def _audit_failure(args: argparse.Namespace, error: GateError) -> str:
    from gate.audit.record import AuditRun
    from gate.audit.render import render_json

    return render_json(AuditRun(datetime.now(UTC), errors=[error]))


def _eval_failure(args: argparse.Namespace, error: GateError) -> str:
    return render_json([], errors=[error])


def _attest_failure(args: argparse.Namespace, error: GateError) -> str:
    from gate.attest.output import attest_error_document

    return attest_error_document(error, mode=args.mode, dry_run=args.dry_run)


def _verify_failure(args: argparse.Namespace, error: GateError) -> str:
    from gate.attest.output import verify_error_document

    return verify_error_document(error, image=args.image, attestor=args.attestor)


def _timestamp(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 time: {text!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gate", description="Policy gate for container images.")
    parser.add_argument("--policies", type=Path, help="policy folder or OPA bundle (GATE_POLICIES)")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    evaluate = commands.add_parser("eval", help="evaluate images against the policies")
    evaluate.add_argument("images", nargs="+", metavar="IMAGE")
    evaluate.add_argument("--metadata", type=Path, help="image config or gate metadata JSON")
    evaluate.add_argument("--scan", type=Path, help="Trivy or Grype JSON report")
    evaluate.add_argument(
        "--data",
        type=Path,
        action="append",
        help="JSON/YAML merged over the policy data (GATE_DATA)",
    )
    evaluate.add_argument(
        "--engine", choices=ENGINES, help="embedded (default) or opa (GATE_ENGINE)"
    )
    evaluate.add_argument("--opa-url", help="OPA server URL for --engine opa (GATE_OPA_URL)")
    evaluate.add_argument(
        "--platform",
        action="append",
        help="os/arch[/variant] to check (GATE_PLATFORMS); default all",
    )
    evaluate.add_argument(
        "--scan-wait", type=float, help="seconds to wait for a running scan (GATE_SCAN_WAIT)"
    )
    evaluate.add_argument(
        "--insecure-registry",
        action="append",
        help="host:port reached over plain HTTP (local trials)",
    )
    evaluate.add_argument("--now", type=_timestamp, help="evaluation time (RFC 3339), default now")
    evaluate.add_argument("--output", choices=("table", "json"), default="table")
    evaluate.set_defaults(handler=_eval, failure=_eval_failure)

    test = commands.add_parser("test", help="run the policies' Rego unit tests")
    test.add_argument("directory", nargs="?", type=Path)
    test.add_argument("--run", help="only tests whose package.name matches this regex")
    test.add_argument("--output", choices=("text", "junit"), default="text")
    test.set_defaults(handler=_test)

    listing = commands.add_parser("policies", help="list the policies with id, severity and scope")
    listing.set_defaults(handler=_policies)

    lint = commands.add_parser("lint", help="check Dockerfiles against the Dockerfile policies")
    lint.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="default: ./Dockerfile")
    lint.add_argument("--data", type=Path, action="append", help="JSON/YAML over the policy data")
    lint.add_argument("--engine", choices=ENGINES, help="embedded (default) or opa (GATE_ENGINE)")
    lint.add_argument("--opa-url", help="OPA server URL for --engine opa (GATE_OPA_URL)")
    lint.add_argument("--output", choices=("text", "json", "sarif"), default="text")
    lint.set_defaults(handler=_lint)

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
    serve.add_argument("--data", type=Path, action="append", help="JSON/YAML over the policy data")
    serve.add_argument("--engine", choices=ENGINES, help="embedded (default) or opa (GATE_ENGINE)")
    serve.add_argument("--opa-url", help="OPA server URL for --engine opa (GATE_OPA_URL)")
    serve.set_defaults(handler=_serve)

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
    attest.add_argument("--data", type=Path, action="append", help="JSON/YAML over the policy data")
    attest.add_argument("--engine", choices=ENGINES, help="embedded (default) or opa (GATE_ENGINE)")
    attest.add_argument("--opa-url", help="OPA server URL for --engine opa (GATE_OPA_URL)")
    attest.add_argument("--scan-wait", type=float, help="seconds to wait for a running scan")
    attest.add_argument("--insecure-registry", action="append", help="host:port over plain HTTP")
    attest.add_argument("--output", choices=("text", "json"), default="text")
    attest.set_defaults(handler=_attest, failure=_attest_failure)

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
    audit.add_argument("--data", type=Path, action="append", help="JSON/YAML over the policy data")
    audit.add_argument("--engine", choices=ENGINES, help="embedded (default) or opa (GATE_ENGINE)")
    audit.add_argument("--opa-url", help="OPA server URL for --engine opa (GATE_OPA_URL)")
    audit.add_argument("--output", choices=("table", "json"), default="table")
    audit.set_defaults(handler=_audit, failure=_audit_failure)

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
    verify.add_argument("--insecure-registry", action="append", help="host:port over plain HTTP")
    verify.add_argument("--data", type=Path, action="append", help="JSON/YAML over the policy data")
    verify.add_argument("--output", choices=("text", "json"), default="text")
    verify.set_defaults(handler=_verify, failure=_verify_failure)
    return parser


if __name__ == "__main__":
    sys.exit(main())
