"""Around the Cloud Build runner: what a test of a build file that attests a push needs.

:class:`ArtifactAnalysis` plays the scan of what the build pushed: once the build's
``push`` step has written the digest, that digest's DISCOVERY occurrence goes PENDING,
SCANNING and (unless told never to) FINISHED_SUCCESS in the Grafeas test server, after
delays counted from the push. :func:`run_scanned` runs a build with that scan going on and
returns a :class:`Finished` build: its step results, workspace, and the reports it kept in
the ``gcloud`` stand-in's bucket. :func:`prepare` lays out the workspace (with the
Dockerfile to build) and the environment with the stand-ins. :func:`registry_digest` is the
digest a registry serves for a tag: what Cloud Build records for ``images:``.

    >>> build = CloudBuild.parse({"steps": []}, {"PROJECT_ID": "p"})
    >>> Finished([StepResult("push", [], 0, 1.0)], Path("w"), Path("s"), build).codes()
    {'push': 0}
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from grafeas.grafeas_v1 import DiscoveryOccurrence

from tests.integration.attest_env import PROJECT
from tests.integration.cloudbuild import CloudBuild, StepResult
from tests.integration.cloudbuild_standins import install, stored
from tests.integration.grafeas_server import GrafeasServicer, discovery_occurrence
from tests.integration.oci_push import DOCKER_MANIFEST
from tests.integration.registry_server import RegistryServer

Status = DiscoveryOccurrence.AnalysisStatus


class ArtifactAnalysis(threading.Thread):
    """Scans what the build pushed: once ``digest_file`` names a digest, its DISCOVERY
    occurrence is PENDING, then SCANNING after ``scanning_after`` s, then FINISHED_SUCCESS
    after ``finished_after`` s (``None``: the scan never finishes)."""

    def __init__(
        self,
        grafeas: GrafeasServicer,
        repository: str,
        digest_file: Path,
        scanning_after: float,
        finished_after: float | None,
    ) -> None:
        super().__init__(daemon=True)
        self.grafeas, self.repository, self.digest_file = grafeas, repository, digest_file
        self.steps = [(0.0, Status.PENDING), (scanning_after, Status.SCANNING)]
        if finished_after is not None:
            self.steps.append((finished_after, Status.FINISHED_SUCCESS))
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set() and not self._digest():
            time.sleep(0.05)
        if self.stopped.is_set():
            return
        resource = f"https://{self.repository}@{self._digest()}"
        name = f"projects/{PROJECT}/occurrences/discovery-of-{self._digest()[7:19]}"
        started = time.monotonic()
        for at, status in self.steps:
            if self.stopped.wait(max(0.0, started + at - time.monotonic())):
                return
            self.grafeas.put(PROJECT, discovery_occurrence(resource, status, name=name))

    def _digest(self) -> str:
        text = self.digest_file.read_text().strip() if self.digest_file.exists() else ""
        return text if text.startswith("sha256:") else ""


@dataclass
class Finished:
    """A build that ran: its steps' results, its workspace and the stand-ins' state."""

    results: list[StepResult]
    workspace: Path
    state: Path
    build: CloudBuild

    def steps(self) -> dict[str, StepResult]:
        return {result.id: result for result in self.results}

    def codes(self) -> dict[str, int]:
        return {result.id: result.code for result in self.results}

    def digest(self) -> str:
        return (self.workspace / "digest").read_text().strip()

    def report(self) -> Any:
        """gate's answer as the build kept it: ``_REPORTS/BUILD_ID/attestation.json``."""
        values = self.build.values
        return self.kept(f"{values['_REPORTS']}/{values['BUILD_ID']}/attestation.json")

    def kept(self, url: str) -> Any:
        """The JSON document the build copied to ``url`` (``gs://…``)."""
        return json.loads(stored(self.state, url).read_text())


@dataclass(frozen=True)
class Prepared:
    workspace: Path  # /workspace
    state: Path  # the stand-ins' images and bucket
    env: dict[str, str]  # the stand-ins first on PATH, then the test's Python (gate, python3)


def prepare(folder: Path, dockerfile: str) -> Prepared:
    """A workspace in ``folder`` holding ``dockerfile``, and the build's environment."""
    workspace, state = folder / "workspace", folder / "state"
    workspace.mkdir()
    (workspace / "Dockerfile").write_text(dockerfile)
    env = {
        **os.environ,
        **install(folder / "bin", state),
        "PATH": f"{folder / 'bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    return Prepared(workspace, state, env)


def run_scanned(
    build: CloudBuild,
    prepared: Prepared,
    env: Mapping[str, str],
    *,
    grafeas: GrafeasServicer,
    finished_after: float | None,
    step_timeout: float,
) -> Finished:
    """Run ``build`` while Artifact Analysis scans its push of ``_REPOSITORY`` (SCANNING
    after 1 s, finished after ``finished_after`` s or never), with ``env`` added to the
    prepared environment."""
    workspace, repository = prepared.workspace, build.values["_REPOSITORY"]
    scanner = ArtifactAnalysis(grafeas, repository, workspace / "digest", 1.0, finished_after)
    scanner.start()
    try:
        results = build.run(workspace, {**prepared.env, **env}, timeout=step_timeout)
    finally:
        scanner.stopped.set()
        scanner.join(5)
    return Finished(results, workspace, prepared.state, build)


def registry_digest(registry: RegistryServer, reference: str) -> str:
    """The digest ``registry`` serves for ``host/repository:tag``."""
    repository, _, tag = reference.partition("/")[2].rpartition(":")
    reply = requests.head(
        f"{registry.url}/v2/{repository}/manifests/{tag}",
        headers={"Accept": DOCKER_MANIFEST},
        timeout=10,
    )
    reply.raise_for_status()
    return reply.headers["Docker-Content-Digest"]
