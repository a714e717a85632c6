"""Google API clients for attestation: Cloud KMS, Binary Authorization, Container Analysis.

Each client is the real Google client library on a channel made by
:class:`gate.facts.google.GoogleEndpoint`: the public host over TLS with Application
Default Credentials by default, or a regional / Private Service Connect endpoint, or
(plaintext, anonymous, explicitly asked for) a test server on 127.0.0.1.

    >>> from gate.facts.google import GoogleEndpoint
    >>> local = GoogleEndpoint(api_endpoint="127.0.0.1:1", plaintext=True, anonymous=True)
    >>> client = kms_client(local)  # no I/O until the first call
    >>> client.transport.close()
    >>> target(local, KMS_HOST), target(GoogleEndpoint(), KMS_HOST)
    ('127.0.0.1:1', 'cloudkms.googleapis.com:443')
"""

from __future__ import annotations

from typing import Any

from google.api_core import exceptions as gexc
from google.api_core import retry as gretry
from google.cloud import binaryauthorization_v1, kms_v1
from google.cloud.binaryauthorization_v1.services.binauthz_management_service_v1 import (
    transports as binauthz_transports,
)
from google.cloud.binaryauthorization_v1.services.validation_helper_v1 import (
    transports as validation_transports,
)
from google.cloud.kms_v1.services.key_management_service import transports as kms_transports
from grafeas import grafeas_v1
from grafeas.grafeas_v1.services.grafeas.transports import GrafeasGrpcTransport

from gate.facts.google import GoogleEndpoint

KMS_HOST = "cloudkms.googleapis.com"
BINAUTHZ_HOST = "binaryauthorization.googleapis.com"
CONTAINERANALYSIS_HOST = "containeranalysis.googleapis.com"


def target(endpoint: GoogleEndpoint, host: str) -> str:
    """The ``host:port`` a client made here dials."""
    return endpoint.target(host)


def read_retry(timeout: float) -> gretry.Retry:
    """Retry a read while the API is UNAVAILABLE, for at most ``timeout`` seconds in all
    (the libraries' defaults would keep retrying a wrong endpoint for minutes)."""
    return gretry.Retry(
        predicate=gretry.if_exception_type(gexc.ServiceUnavailable),
        initial=0.1,
        maximum=2.0,
        multiplier=2.0,
        timeout=timeout,
    )


def last_error(exc: gexc.GoogleAPICallError | gexc.RetryError) -> gexc.GoogleAPICallError:
    """The call error behind ``exc`` (a RetryError wraps the last attempt's)."""
    if isinstance(exc, gexc.RetryError):
        cause = exc.cause
        if isinstance(cause, gexc.GoogleAPICallError):
            return cause
        return gexc.ServiceUnavailable(exc.message)  # type: ignore[no-untyped-call]
    return exc


def kms_client(endpoint: GoogleEndpoint) -> kms_v1.KeyManagementServiceClient:
    transport = kms_transports.KeyManagementServiceGrpcTransport(channel=endpoint.channel(KMS_HOST))
    return kms_v1.KeyManagementServiceClient(transport=transport)


def binauthz_client(
    endpoint: GoogleEndpoint,
) -> binaryauthorization_v1.BinauthzManagementServiceV1Client:
    transport = binauthz_transports.BinauthzManagementServiceV1GrpcTransport(
        channel=endpoint.channel(BINAUTHZ_HOST)
    )
    return binaryauthorization_v1.BinauthzManagementServiceV1Client(transport=transport)


def validation_client(endpoint: GoogleEndpoint) -> binaryauthorization_v1.ValidationHelperV1Client:
    transport = validation_transports.ValidationHelperV1GrpcTransport(
        channel=endpoint.channel(BINAUTHZ_HOST)
    )
    return binaryauthorization_v1.ValidationHelperV1Client(transport=transport)


def grafeas_client(endpoint: GoogleEndpoint) -> grafeas_v1.GrafeasClient:
    """Grafeas v1 as Container Analysis serves it (``containeranalysis.googleapis.com``)."""
    transport = GrafeasGrpcTransport(channel=endpoint.channel(CONTAINERANALYSIS_HOST))
    return grafeas_v1.GrafeasClient(transport=transport)


def close(*clients: Any) -> None:
    """Close the channels of clients made here."""
    for client in clients:
        client.transport.close()
