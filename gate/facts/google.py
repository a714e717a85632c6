"""Where and how gate reaches a Google API over gRPC: endpoint, TLS and credentials.

One :class:`GoogleEndpoint` describes the connection for any Google gRPC client gate
uses (Artifact Analysis today; Cloud KMS and Binary Authorization share it). By default
it is the service's public host over TLS with Application Default Credentials (ADC).
``api_endpoint`` points it elsewhere: a regional endpoint, a Private Service Connect
endpoint (``containeranalysis-myendpoint.p.googleapis.com``), or a test server on
127.0.0.1. Plaintext is used only when asked for, and only without credentials, so
an OAuth token is never sent in the clear.

    >>> GoogleEndpoint().target("containeranalysis.googleapis.com")
    'containeranalysis.googleapis.com:443'
    >>> local = GoogleEndpoint(api_endpoint="127.0.0.1:8555", plaintext=True, anonymous=True)
    >>> local.target("containeranalysis.googleapis.com")
    '127.0.0.1:8555'
    >>> GoogleEndpoint(plaintext=True).validated()
    Traceback (most recent call last):
    ...
    gate.errors.ConfigError: a plaintext connection to a Google API must be anonymous, without ca_file
    >>> channel = local.channel("containeranalysis.googleapis.com")  # no I/O until a call
    >>> channel.close()

:func:`image_resource` names an image the way Google APIs do (resource URL and the
project that holds its metadata); :func:`rpc_error` turns a failed call into a
:class:`~gate.errors.GateError` with advice.

    >>> r = image_resource("europe-west1-docker.pkg.dev/acme-prod/apps/api@sha256:" + "a" * 64)
    >>> r.project, r.url[:52]
    ('acme-prod', 'https://europe-west1-docker.pkg.dev/acme-prod/apps/a')
    >>> project_of("gcr.io/example.com/tools/app")
    'example.com:tools'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import google.auth
import grpc
from google.api_core import exceptions as gexc
from google.api_core import grpc_helpers
from google.auth.exceptions import GoogleAuthError

from gate.errors import ConfigError, GateError, InvalidReference
from gate.reference import parse_reference

E = TypeVar("E", bound=GateError)
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
ADC_HINT = (
    "run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS, "
    "or run where a metadata server provides a service account (GKE, Cloud Build)"
)
RPC_HINTS: dict[type[gexc.GoogleAPICallError], str] = {
    gexc.PermissionDenied: "grant the caller a role with the needed permission on project {project}",
    gexc.NotFound: "check the project ({project}) and the resource name",
    gexc.Unauthenticated: "the credentials were refused: " + ADC_HINT,
    gexc.ServiceUnavailable: "check the network, the endpoint setting ({target}) and TLS "
    "(a private CA needs ca_file; plaintext is for local test servers only)",
    gexc.DeadlineExceeded: "retry, or raise the RPC timeout",
    gexc.ResourceExhausted: "quota exhausted in project {project}: retry later or raise the quota",
    gexc.InvalidArgument: "the request was refused as malformed: check the names and settings",
}
"""Hints by failure; services override entries (e.g. the role to grant)."""
ENABLE_HINT = "enable the API: gcloud services enable {service} --project {project}"


@dataclass(frozen=True)
class GoogleEndpoint:
    """Connection settings for a Google gRPC API.

    ``api_endpoint``: ``host[:port]``; empty means the service's default host (port 443).
    ``plaintext``: no TLS (local test servers only); requires ``anonymous``.
    ``anonymous``: send no credentials (local test servers); otherwise ADC.
    ``ca_file``: PEM root certificates to trust instead of the system's (TLS only).
    ``quota_project``: the project billed for quota, for user credentials.
    """

    api_endpoint: str = ""
    plaintext: bool = False
    anonymous: bool = False
    ca_file: str = ""
    quota_project: str = ""

    def validated(self) -> GoogleEndpoint:
        if self.plaintext and (not self.anonymous or self.ca_file):
            raise ConfigError(
                "a plaintext connection to a Google API must be anonymous, without ca_file",
                hint="plaintext is for local test servers: set anonymous, or drop plaintext",
            )
        if any(c.isspace() or c == "/" for c in self.api_endpoint):
            raise ConfigError(
                f"api_endpoint {self.api_endpoint!r} is not host[:port]",
                hint="write e.g. us-east1-containeranalysis.googleapis.com or 127.0.0.1:8555",
            )
        return self

    def target(self, default_host: str) -> str:
        """``host:port`` to dial: ``api_endpoint`` or ``default_host``, port 443 if none."""
        host = self.api_endpoint or default_host
        return host if host.rpartition(":")[2].isdigit() else f"{host}:443"

    def channel(self, default_host: str) -> grpc.Channel:
        """A gRPC channel for the service whose public host is ``default_host``.

        Raises :class:`ConfigError` for inconsistent settings, an unreadable ``ca_file``
        or (with ADC) when no credentials can be found.
        """
        self.validated()
        target = self.target(default_host)
        options = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
        if self.plaintext:
            return grpc.insecure_channel(target, options=options)
        ssl = grpc.ssl_channel_credentials(root_certificates=self._root_certificates())
        if self.anonymous:
            return grpc.secure_channel(target, ssl, options=options)
        try:
            credentials, _ = google.auth.default(
                scopes=[CLOUD_PLATFORM_SCOPE], quota_project_id=self.quota_project or None
            )
        except GoogleAuthError as exc:
            raise ConfigError(f"no Google credentials for {target}: {exc}", hint=ADC_HINT) from exc
        channel: grpc.Channel = grpc_helpers.create_channel(
            target, credentials=credentials, ssl_credentials=ssl, options=options
        )
        return channel

    def _root_certificates(self) -> bytes | None:
        if not self.ca_file:
            return None
        try:
            return Path(self.ca_file).read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"cannot read the CA file {self.ca_file}: {exc.strerror or exc}",
                hint="point ca_file at a PEM bundle, or leave it empty for the system roots",
            ) from exc


@dataclass(frozen=True)
class ImageResource:
    """An image as Google APIs name it: ``https://REGISTRY/REPOSITORY@DIGEST`` and the
    project whose Artifact Analysis and Binary Authorization data concern it."""

    url: str
    project: str
    digest: str


def project_of(image: str) -> str | None:
    """The project in an Artifact Registry (``LOCATION-docker.pkg.dev/PROJECT/…``) or
    Container Registry (``[REGION.]gcr.io/PROJECT/…``) name; ``example.com/p`` is the
    domain-scoped ``example.com:p``. ``None`` for other registries."""
    ref = parse_reference(image)
    host, parts = ref.registry, ref.repository.split("/")
    google = host.endswith("-docker.pkg.dev") or host == "gcr.io" or host.endswith(".gcr.io")
    if not google or len(parts) < 2:
        return None
    return f"{parts[0]}:{parts[1]}" if "." in parts[0] else parts[0]


def image_resource(image: str, project: str = "") -> ImageResource:
    """Resource URL and project of ``REGISTRY/REPOSITORY@sha256:…``; ``project`` overrides
    the one in the name. :class:`InvalidReference` without a digest, :class:`ConfigError`
    when no project is given or known."""
    ref = parse_reference(image)
    if ref.digest is None:
        raise InvalidReference(
            f"{image} has no digest", hint="name the image by digest: REGISTRY/REPOSITORY@sha256:…"
        )
    owner = project or project_of(image)
    if not owner:
        raise ConfigError(
            f"cannot tell which Google Cloud project holds the data of {ref.name}",
            hint="only Artifact Registry and gcr.io names carry one: set the project explicitly",
        )
    return ImageResource(f"https://{ref.name}@{ref.digest}", owner, ref.digest)


def rpc_error(
    exc: gexc.GoogleAPIError,
    doing: str,
    error: type[E],
    *,
    service: str,
    project: str,
    target: str,
    overrides: Mapping[type[gexc.GoogleAPICallError], str] | None = None,
) -> E:
    """An ``error`` for a failed call to ``service`` while ``doing`` something, with a hint:
    the API to enable, the role to grant (``overrides``), the setting to check. A
    ``RetryError`` (retries ran out of time) is reported as its last failure."""
    retried = ""
    if isinstance(exc, gexc.RetryError) and isinstance(exc.cause, gexc.GoogleAPIError):
        exc, retried = exc.cause, " (retried until the timeout)"
    if not isinstance(exc, gexc.GoogleAPICallError):
        hint = RPC_HINTS[gexc.ServiceUnavailable].format(target=target)
        return error(f"{doing}: {exc}{retried}", hint=hint)
    code = exc.grpc_status_code.name if exc.grpc_status_code else str(exc.code)
    message = f"{doing}: {code} from {target}: {exc.message}{retried}"
    if exc.reason == "SERVICE_DISABLED" or "has not been used in project" in exc.message:
        return error(message, hint=ENABLE_HINT.format(service=service, project=project))
    hints = {**RPC_HINTS, **(overrides or {})}
    hint = next((h for kind, h in hints.items() if isinstance(exc, kind)), "")
    hint = hint or "check the project, the endpoint setting and the caller's permissions"
    return error(message, hint=hint.format(project=project, target=target))
