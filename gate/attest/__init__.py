"""Binary Authorization attestations: sign what the policies allowed, store it, verify it.

Modules, in the order of the flow:

* :mod:`~gate.attest.service` - the attest flow over an injected evaluator (resolve,
  report the digest, evaluate, sign only on allow); results keep denied, errored,
  attested and already-attested apart. :mod:`~gate.attest.evaluator` builds the
  evaluator from gate's own fact gathering; :mod:`~gate.attest.commands` builds the
  clients from settings for ``gate attest`` and ``gate verify``.
* :mod:`~gate.attest.payload` - the exact payload bytes (signed and stored as is).
* :mod:`~gate.attest.signers` - Cloud KMS, PKCS#11 (HSM), local PEM key (development).
* :mod:`~gate.attest.attestor` and :mod:`~gate.attest.binauthz` - the attestor's note and
  keys, the refusal of keys it does not list, the idempotent ATTESTATION occurrence.
* :mod:`~gate.attest.store` and :mod:`~gate.attest.verify` - listing and local
  verification with ``cryptography``, optionally confirmed by Binary Authorization.
* :mod:`~gate.attest.algorithms` and :mod:`~gate.attest.clients` - algorithms and key ids;
  Google API clients on configurable endpoints.

    >>> from gate.attest.payload import build_payload
    >>> from gate.reference import parse_reference
    >>> build_payload(parse_reference("gcr.io/p/app@sha256:" + "e" * 64)).startswith(b'{\\n  "critical"')
    True
"""
