"""The OPA engine: a real OPA server over its REST API, through ``opa-python-client``.

Two ways to run it:

- **push** (default): gate owns the policy set. It uploads every policy module (the
  module's path is its policy id) and the data document and uploads again whenever the
  source's fingerprint changes, only what changed (:mod:`gate.policy.opa.push`).
- **serve** (``push=False``): OPA already serves the policies (from a bundle); gate
  only queries ``data.gate.main``.

:meth:`OpaEngine.fetchable` asks ``data.gate.main.fetchable`` once per pushed policy set;
when OPA serves its own bundle, gate cannot tell when it changes and asks again once
``refresh`` seconds (GATE_RELOAD_INTERVAL) have passed.

Queries run with ``strict-builtin-errors=true``, so a builtin error is an error (and
denies), as in the embedded engine. Every transport, HTTP, TLS or JSON failure becomes
an :class:`EngineError` with a hint (:mod:`gate.policy.opa.errors`); an undefined result
is ``None``. Only the client's public methods are called: the one extension is the
session hook a subclass fills in (:mod:`gate.policy.opa.connection`), to pin a CA file.

The client library and its HTTP stack load only when this package is imported: gate
imports it only to build an OPA engine (:func:`gate.policy.engines.create_engine`).

    >>> engine = OpaEngine("http://127.0.0.1:8181", push=False)
    >>> engine.name, engine.url
    ('opa', 'http://127.0.0.1:8181')
"""

from gate.policy.opa.engine import OpaEngine
from gate.policy.opa.errors import OpaUnavailable

__all__ = ["OpaEngine", "OpaUnavailable"]
