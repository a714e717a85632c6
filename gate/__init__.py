"""gate: a policy-as-code admission and attestation gate for container images.

One Rego policy set decides whether an image may run; the same decision is reached
from the GKE admission webhook, the Cloud Build signing step and local testing.

    >>> from gate.reference import parse_reference
    >>> parse_reference("nginx").name
    'docker.io/library/nginx'
"""

__version__ = "0.1.0"
