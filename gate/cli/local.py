"""The commands that run on a developer's machine: ``eval``, ``test``, ``policies``, ``lint``.

Each takes the parsed flags, the settings and the console, and returns the exit code.

    $ gate eval us-docker.pkg.dev/p/r/app@sha256:… --metadata meta.json --scan trivy.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console

from gate.config import Settings
from gate.errors import GateError
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

EXIT_OK, EXIT_DENIED, EXIT_ERROR = 0, 1, 2


def eval_images(args: argparse.Namespace, settings: Settings, console: Console) -> int:
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


def run_tests(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    policy_set = load_policy_set(args.directory or settings.policies, settings.data_overrides)
    results = run_rego_tests(policy_set, args.run or "")
    if not results:
        raise GateError(
            f"no Rego tests found in {policy_set.origin}",
            hint="tests are test_* rules in *_test.rego",
        )
    TEST_OUTPUTS[args.output].write(results, console)
    return EXIT_OK if all(r.passed for r in results) else EXIT_DENIED


def list_policies(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from rich.table import Table

    policy_set = load_policy_set(settings.policies, settings.data_overrides)
    table = Table(title=f"Policies in {policy_set.origin}", title_justify="left")
    for column in ("id", "name", "severity", "scope", "title"):
        table.add_column(column)
    for info in sorted(policy_set.catalog.values(), key=lambda i: i.id):
        table.add_row(info.id, info.name, info.severity, info.scope, info.title)
    console.print(table)
    return EXIT_OK


def lint_dockerfiles(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from gate.lint.output import LINT_OUTPUTS, LintRun
    from gate.lint.run import Linter, exit_code, lint_paths

    linter = Linter.from_settings(settings)
    results = lint_paths(args.paths or [Path("Dockerfile")], linter)
    LINT_OUTPUTS[args.output].write(LintRun(results, linter.catalog), console)
    return exit_code(results)


def eval_failure(args: argparse.Namespace, error: GateError) -> str:
    return render_json([], errors=[error])
