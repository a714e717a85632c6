"""Fixtures for the signing API tests: the test issuer, API settings, and in-process apps.

``make_api(**api_changes)`` builds gate's Flask app with the API enabled for the test
issuer (its JWKS on 127.0.0.1), the compliant facts for any digest, and one offered
attestor (:data:`ATTESTOR`, usable by :data:`CALLER` only). ``bearer(token)`` makes the
header.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask

from gate.api.settings import ApiSettings
from gate.attest.settings import AttestSettings
from gate.config import Settings
from gate.facts.interface import FactSource
from gate.policy.interface import Engine
from gate.webhook.app import create_app
from gate.webhook.facts import TrialFacts
from gate.webhook.settings import WebhookSettings
from tests.api.issuer import AUDIENCE, CALLER, Issuer
from tests.integration import attest_env
from tests.webhook.conftest import (  # noqa: F401 - fixtures
    any_digest_facts,
    any_digest_metadata,
    compliant_files,
    engine,
)

ATTESTOR = attest_env.ATTESTOR
KMS_KEY = attest_env.key_version("EC_SIGN_P256_SHA256")
KEY = "gcpkms://" + KMS_KEY
OTHER_CALLER = "deploy@other-project.iam.gserviceaccount.com"  # may call, may not sign
IMAGE = (
    "us-docker.pkg.dev/gate-samples/apps/hello@"
    "sha256:17ba705e6e26aa201bbda278d9a077a125f955cd3c2195d939c6faf821584542"
)

ApiFactory = Callable[..., Flask]
_APPS: list[Flask] = []  # kept for the session: pool threads hold per-thread engines


@pytest.fixture(scope="session")
def issuer() -> Iterator[Issuer]:
    running = Issuer().start()
    yield running
    running.stop()


def api_settings(issuer: Issuer, **changes: Any) -> ApiSettings:
    base = ApiSettings(
        audience=AUDIENCE,
        jwks_url=issuer.url,
        callers=(CALLER, OTHER_CALLER, "*@trusted.iam.gserviceaccount.com"),
        attestors=((ATTESTOR, KEY),),
        attestor_callers=((ATTESTOR, CALLER),),
    )
    return replace(base, **changes).validated()


@pytest.fixture
def make_api(engine: Engine, any_digest_facts: TrialFacts, issuer: Issuer) -> ApiFactory:  # noqa: F811
    def factory(
        facts: FactSource | None = None,
        settings: Settings | None = None,
        attest: AttestSettings | None = None,
        **changes: Any,
    ) -> Flask:
        base = settings or Settings(webhook=WebhookSettings())
        settings = replace(base, api=api_settings(issuer, **changes), attest=attest or base.attest)
        app = create_app(settings, engine=engine, facts=facts or any_digest_facts)
        _APPS.append(app)
        return app

    return factory


@pytest.fixture
def client(make_api: ApiFactory) -> Any:
    return make_api().test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
