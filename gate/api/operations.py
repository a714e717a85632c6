"""The three API operations, over the same functions the CLI calls.

``evaluate`` is :func:`gate.evaluate.evaluate_image` (entry point ``api``) rendered as
``gate eval --output json`` renders it; ``attest`` is
:func:`gate.attest.commands.attest_command` with the fetched-facts evaluator, as
``gate attest`` runs it; ``verify`` is :func:`gate.attest.commands.verify_command`.
Each takes a request body already validated against the OpenAPI document and returns
the CLI's JSON document. Failures the caller caused are :class:`Refused` (HTTP 400);
other :class:`~gate.errors.GateError` s from Google APIs or the registry mean nothing
could be done (HTTP 502). Authorisation happens before any of this.

    >>> from gate.config import Settings
    >>> from gate.facts.local import LocalFacts
    >>> from gate.policy.engines import create_engine
    >>> ops = Operations(Settings(), create_engine(Settings()), LocalFacts(), {})
    >>> ops.evaluate({"image": "nginx:latest"})["allowed"]
    False
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from gate.attest.commands import ApiEndpoints, attest_command, verify_command
from gate.attest.evaluator import Resolver, fetched_evaluator
from gate.attest.service import Mode
from gate.attest.signers import SignerOptions
from gate.config import Settings
from gate.errors import GateError
from gate.evaluate import evaluate_image
from gate.facts.interface import FactSource
from gate.facts.registry import Deadline, RegistryClient
from gate.policy.interface import Decision, Engine
from gate.reference import ImageRef, parse_reference
from gate.report.decision import render_json


class Refused(GateError):
    """A request gate will not carry out as asked (HTTP 400)."""

    kind = "request"


class Operations:
    def __init__(
        self, settings: Settings, engine: Engine, facts: FactSource, keys: Mapping[str, str]
    ) -> None:
        self.settings, self.engine, self.facts, self.keys = settings, engine, facts, dict(keys)
        attest = settings.attest
        self.endpoints = ApiEndpoints.from_settings(
            settings,
            kms=attest.kms_endpoint,
            binauthz=attest.binauthz_endpoint,
            timeout=attest.google_timeout,
        )
        self.signer_options = SignerOptions(
            public_key_id=attest.public_key_id,
            rsa_padding=attest.rsa_padding,
            pkcs11_module=attest.pkcs11_module,
            pin_env=attest.pkcs11_pin_env,
            pin_file=attest.pkcs11_pin_file,
        )
        registry = getattr(facts, "registry", None)
        self.registry = registry if isinstance(registry, RegistryClient) else None

    def evaluate(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The decision ``attest`` would reach: a tag on an approved registry is resolved
        first, so the policies judge ``name:tag@digest`` as they do when signing."""
        image = str(body["image"])
        deadline = time.monotonic() + self.settings.fetch_timeout
        try:
            judged = self._pinned(image, deadline)
        except GateError as exc:
            decision = Decision.from_error(exc, "api", engine=self.engine.name)
        else:
            evaluation = evaluate_image(
                self.engine, judged, self.facts, entry_point="api", deadline=deadline
            )
            decision = evaluation.decision
        document: dict[str, Any] = json.loads(render_json([(image, decision)]))
        return document

    def _pinned(self, image: str, deadline: float) -> str:
        """``image`` with its tag resolved, when on an approved registry; else as given
        (the reference policies then deny it without any connection)."""
        if self.registry is None:
            return image
        try:
            ref = parse_reference(image)
            self.registry.check_allowed(ref)
        except GateError:
            return image
        if ref.digest is not None:
            return image
        return ref.with_digest(self.registry.resolve(ref, Deadline(deadline))).normalized

    def attest(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Evaluate and, on allow, sign with the attestor's key (the caller may use it)."""
        attestor = str(body["attestor"])
        evaluator = fetched_evaluator(
            self.engine,
            self.facts,
            fetch_timeout=self.settings.fetch_timeout,
            resolver=self._resolver(),
        )
        report = attest_command(
            [str(body["image"])],
            evaluator=evaluator,
            attestor=attestor,
            key=self.keys.get(attestor, ""),
            endpoints=self.endpoints,
            mode=Mode(body.get("mode", Mode.CHECK_AND_SIGN.value)),
            dry_run=bool(body.get("dry_run", False)),
            project=self.settings.attest.attestation_project,
            signer_options=self.signer_options,
        )
        return report.to_dict()

    def verify(self, body: Mapping[str, Any]) -> dict[str, Any]:
        result = verify_command(
            str(body["image"]),
            attestor=str(body["attestor"]),
            endpoints=self.endpoints,
            confirm=bool(body.get("confirm", False)),
            project=self.settings.attest.attestation_project,
            resolver=self._tag_resolver(),
        )
        return result.to_dict()

    def _resolver(self) -> Resolver | None:
        registry = self.registry
        if registry is None:
            return None
        return lambda ref, deadline: registry.resolve(ref, Deadline(deadline))

    def _tag_resolver(self) -> Callable[[ImageRef], ImageRef] | None:
        """Tags resolve only on approved registries: any other host is never contacted."""
        registry = self.registry
        if registry is None:
            return None

        def resolve(ref: ImageRef) -> ImageRef:
            try:
                registry.check_allowed(ref)
            except GateError as exc:
                raise Refused(exc.message, hint="pass the image by digest (name@sha256:…)") from exc
            deadline = Deadline.after(self.settings.fetch_timeout)
            return ref.with_digest(registry.resolve(ref, deadline))

        return resolve
