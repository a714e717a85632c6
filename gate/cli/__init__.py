"""The ``gate`` command: wiring only. Each subcommand parses flags over :class:`Settings`
(every flag has a ``GATE_*`` default), calls one function, renders, and exits
0 (allowed / passed), 1 (denied / failed) or 2 (error). The flags are in
:mod:`gate.cli.parser`; the commands in :mod:`gate.cli.local` (eval, test, policies, lint)
and :mod:`gate.cli.cloud` (serve, attest, verify, audit).

    $ gate eval us-docker.pkg.dev/p/r/app@sha256:… --metadata meta.json --scan trivy.json
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from rich.console import Console

from gate.cli.local import EXIT_DENIED, EXIT_ERROR, EXIT_OK
from gate.cli.parser import build_parser
from gate.config import Settings
from gate.errors import GateError, InternalError

__all__ = ["EXIT_DENIED", "EXIT_ERROR", "EXIT_OK", "build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
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
