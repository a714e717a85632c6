"""The commands that reach a cluster or Google Cloud: ``serve``, ``attest``, ``verify``,
``audit``. Each imports what it needs when it runs, so that the local commands start
without those modules.

    $ gate attest us-docker.pkg.dev/p/r/app@sha256:… --attestor projects/p/attestors/a --key …
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from datetime import UTC, datetime

from rich.console import Console

from gate.config import Settings
from gate.errors import GateError
from gate.policy.engines import create_engine


def serve_webhook(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from gate.webhook.serve import serve as run_server

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
    return run_server(settings.with_changes(webhook=webhook.validated()))


def attest_images(args: argparse.Namespace, settings: Settings, console: Console) -> int:
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


def verify_image(args: argparse.Namespace, settings: Settings, console: Console) -> int:
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


def audit_cluster(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    import signal
    import threading

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


def audit_failure(args: argparse.Namespace, error: GateError) -> str:
    from gate.audit.record import AuditRun
    from gate.audit.render import render_json

    return render_json(AuditRun(datetime.now(UTC), errors=[error]))


def attest_failure(args: argparse.Namespace, error: GateError) -> str:
    from gate.attest.output import attest_error_document

    return attest_error_document(error, mode=args.mode, dry_run=args.dry_run)


def verify_failure(args: argparse.Namespace, error: GateError) -> str:
    from gate.attest.output import verify_error_document

    return verify_error_document(error, image=args.image, attestor=args.attestor)
