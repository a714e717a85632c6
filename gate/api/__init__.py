"""gate as a signing service for pipelines: ``POST /v1/evaluate``, ``/v1/attest``, ``/v1/verify``.

A build pipeline keeps no signing key: it calls gate with a Google-signed ID token, gate
fetches the image's facts itself, evaluates the same policies as admission, and signs a
Binary Authorization attestation only on allow (Voucher's model). Served by ``gate
serve`` beside the admission webhook; the OpenAPI document is ``/openapi.json``.

Modules: :mod:`~gate.api.settings` (``GATE_API_*``), :mod:`~gate.api.jwks` (the issuer's
keys, cached), :mod:`~gate.api.auth` (tokens, callers, attestors),
:mod:`~gate.api.limits` (per-caller concurrency, timeouts), :mod:`~gate.api.schema`
(the document and request validation), :mod:`~gate.api.operations` (the three
operations over the CLI's functions), :mod:`~gate.api.routes` (HTTP, and
:func:`~gate.api.routes.install`), :mod:`~gate.api.errors` (every failure as JSON) and
:mod:`~gate.api.state` (what a worker's handlers share). docs/api.md is the operator's guide.

    $ curl -sS --fail-with-body https://gate.example.com/v1/evaluate \\
        -H "Authorization: Bearer $(gcloud auth print-identity-token --audiences=https://gate.example.com)" \\
        -H "Content-Type: application/json" -d '{"image": "us-docker.pkg.dev/p/apps/api@sha256:…"}'
"""
