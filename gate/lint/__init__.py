"""``gate lint``: Dockerfile policies, on the same engine and parameters as the image policies.

A Dockerfile is parsed with BuildKit's parser (:mod:`gate.lint.parser`) into the lint
input document (:mod:`gate.lint.document`, docs/lint-input.md), evaluated against
``data.gate.dockerfile.main.decision`` (:mod:`gate.lint.run`) and reported as text,
JSON or SARIF (:mod:`gate.lint.sarif`).
"""
