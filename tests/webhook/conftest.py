"""Fixtures for the webhook tests: compliant facts, fact sources that misbehave, app factory.

The compliant facts are the quick start's sample with its creation time moved to
yesterday, so the freshness policy passes on any day the tests run.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gate.config import Settings
from gate.facts.interface import FactSource, ImageFacts
from gate.policy.engines import create_engine
from gate.policy.interface import Engine
from gate.reference import ImageRef
from gate.webhook.app import create_app
from gate.webhook.attestation import AttestationRequirement
from gate.webhook.facts import TrialFacts
from gate.webhook.settings import WebhookSettings
from tests.conftest import REPO_ROOT

SAMPLES = REPO_ROOT / "samples"


@pytest.fixture(scope="session")
def compliant_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("facts")
    metadata = json.loads((SAMPLES / "compliant-metadata.json").read_text())
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for platform in metadata["platforms"]:
        platform["config"]["created"] = yesterday
    (folder / "metadata.json").write_text(json.dumps(metadata))
    return folder / "metadata.json", SAMPLES / "trivy-clean.json"


@pytest.fixture(scope="session")
def any_digest_metadata(compliant_files: tuple[Path, Path]) -> Path:
    """The compliant metadata with a clean scan inside it, naming no digest: it serves any
    image (a report naming the sample's digest would be refused for other digests)."""
    metadata = json.loads(compliant_files[0].read_text())
    metadata["vulnerabilities"] = {
        "source": "metadata",
        "scan": {"status": "FINISHED_SUCCESS", "detail": "clean (test data)"},
        "findings": [],
    }
    path = compliant_files[0].with_name("any-digest.json")
    path.write_text(json.dumps(metadata))
    return path


@pytest.fixture(scope="session")
def any_digest_facts(any_digest_metadata: Path) -> TrialFacts:
    return TrialFacts.from_files(str(any_digest_metadata), "")


@pytest.fixture(scope="session")
def compliant_facts(compliant_files: tuple[Path, Path]) -> TrialFacts:
    return TrialFacts.from_files(str(compliant_files[0]), str(compliant_files[1]))


@pytest.fixture(scope="session")
def engine() -> Engine:
    return create_engine(Settings())


class CountingFacts(FactSource):
    """Another source's facts, counting the gathers (and the references asked for)."""

    def __init__(self, inner: FactSource) -> None:
        self.inner = inner
        self.asked: list[str] = []

    def gather(self, ref: ImageRef, deadline: float) -> tuple[ImageRef, ImageFacts]:
        self.asked.append(ref.normalized)
        return self.inner.gather(ref, deadline)


class HangingFacts(FactSource):
    """A registry that never answers, until ``release()`` (tests release it at teardown)."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.calls = 0

    def gather(self, ref: ImageRef, deadline: float) -> tuple[ImageRef, ImageFacts]:
        self.calls += 1
        self.released.wait(120)
        return ref, ImageFacts()

    def release(self) -> None:
        self.released.set()


class StallingFacts(HangingFacts):
    """Another source's facts, except for references in ``stalled``: their registry never
    answers, until ``release()``."""

    def __init__(self, inner: FactSource, *stalled: str) -> None:
        super().__init__()
        self.inner, self.stalled = inner, frozenset(stalled)

    def gather(self, ref: ImageRef, deadline: float) -> tuple[ImageRef, ImageFacts]:
        if ref.original in self.stalled:
            return super().gather(ref, deadline)
        return self.inner.gather(ref, deadline)


class BrokenFacts(FactSource):
    """A source with a bug: raises something that is not a GateError."""

    def gather(self, ref: ImageRef, deadline: float) -> tuple[ImageRef, ImageFacts]:
        raise KeyError("bug")


AppFactory = Callable[..., Flask]
# Apps live for the session: their pool threads hold per-thread regorus engines, which must
# be dropped on the thread that made them (a collected pool would end its threads early).
_APPS: list[Flask] = []


@pytest.fixture
def make_app(engine: Engine, compliant_facts: TrialFacts) -> Iterator[AppFactory]:
    """``make_app(facts=…, engine=…, **webhook_settings)``: an app on the compliant facts
    and the session's engine by default; hanging sources are released at teardown."""
    hanging: list[HangingFacts] = []
    shared = engine

    def factory(
        facts: FactSource | None = None,
        attestations: AttestationRequirement | None = None,
        engine: Engine | None = None,
        **changes: Any,
    ) -> Flask:
        if isinstance(facts, HangingFacts):
            hanging.append(facts)
        settings = Settings(webhook=replace(WebhookSettings(), **changes).validated())
        app = create_app(
            settings,
            engine=engine or shared,
            facts=facts or compliant_facts,
            attestations=attestations,
        )
        _APPS.append(app)
        return app

    yield factory
    for source in hanging:
        source.release()


@pytest.fixture
def client(make_app: AppFactory) -> FlaskClient:
    return make_app().test_client()


def answer(client: FlaskClient, body: Any) -> dict[str, Any]:
    """POST ``body`` to /validate; the AdmissionReview response (asserting HTTP 200)."""
    reply = client.post("/validate", json=body)
    assert reply.status_code == 200, reply.data
    doc: dict[str, Any] = reply.get_json()
    return doc
