"""The Kubernetes API, behind one method: a JSON request to a path.

:class:`KubeApi` is the seam (tests and the bench talk to a real kube-apiserver through
it); :class:`KubernetesApi` implements it with the ``kubernetes`` client's HTTP stack and
credentials (kubeconfig, exec plugins such as GKE's, in-cluster service account tokens
that rotate). Objects stay plain JSON dicts, as the API sends them: the client's model
classes cost more than the audit itself on 10,000 pods. :func:`list_all` pages through a
list (``limit`` and ``continue``, starting again when the continue token expires).
Every failure is a :class:`KubeError` with the HTTP status and a hint.

    >>> Resource("apps", "v1", "deployments", "Deployment").path("shop", "web")
    '/apis/apps/v1/namespaces/shop/deployments/web'
    >>> Resource("", "v1", "pods", "Pod").api_version, Resource("", "v1", "pods", "Pod").path()
    ('v1', '/api/v1/pods')
"""

from __future__ import annotations

import abc
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from gate.audit.settings import AuditSettings
from gate.errors import GateError

T = TypeVar("T")
RESTARTS = 3  # times a list starts again after its continue token expired (HTTP 410)
HINTS = {
    401: "the API server refused the credentials: check the kubeconfig or the service "
    "account token",
    403: "the account lacks RBAC permission for this: deploy/kubernetes/audit grants what the "
    "audit needs (ClusterRole gate-audit)",
}


class KubeError(GateError):
    """The Kubernetes API refused a request or could not be reached."""

    kind = "kubernetes"

    def __init__(self, message: str, *, hint: str = "", status: int = 0) -> None:
        super().__init__(message, hint=hint)
        self.status = status


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str = "", name: str = "") -> str:
        """The collection (across namespaces when ``namespace`` is empty) or one object."""
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        where = f"/namespaces/{quote(namespace, safe='')}" if namespace else ""
        return f"{root}{where}/{self.plural}" + (f"/{quote(name, safe='')}" if name else "")


class KubeApi(abc.ABC):
    """One JSON request to the API server; raises :class:`KubeError` on any failure."""

    @abc.abstractmethod
    def request(
        self,
        method: str,
        path: str,
        *,
        query: Iterable[tuple[str, str]] = (),
        body: Any = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        """The response's JSON object ({} for an empty body)."""


class KubernetesApi(KubeApi):
    """:class:`KubeApi` over a ``kubernetes.client.ApiClient`` (credentials and TLS)."""

    def __init__(self, client: Any, timeout: float) -> None:
        self.client, self.timeout = client, timeout

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Iterable[tuple[str, str]] = (),
        body: Any = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        from kubernetes.client.exceptions import OpenApiException
        from urllib3.exceptions import HTTPError

        headers = {"Accept": "application/json", "Content-Type": content_type}
        try:
            params = self.client.param_serialize(
                method,
                path,
                query_params=list(query),
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self.client.call_api(*params, _request_timeout=self.timeout)
            data = response.read()
        except (OpenApiException, HTTPError, OSError) as exc:
            raise KubeError(
                f"the Kubernetes API did not answer {method} {path}: {exc}",
                hint="is the API server reachable from here (kubeconfig server, network)?",
            ) from exc
        if response.status >= 400:
            raise refused(method, path, response.status, data)
        return _json(data, method, path)

    def close(self) -> None:
        self.client.close()


def connect(settings: AuditSettings, pool: int) -> KubernetesApi:
    """A client for the cluster the settings name: the kubeconfig given (flag,
    GATE_KUBECONFIG or KUBECONFIG), else the pod's service account, else ~/.kube/config."""
    from kubernetes import client, config

    configuration = client.Configuration()
    try:
        if settings.kubeconfig:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=settings.kubeconfig,
                context=settings.kube_context or None,
                client_configuration=configuration,
            )
        else:
            try:
                config.load_incluster_config(  # type: ignore[no-untyped-call]
                    client_configuration=configuration
                )
            except config.ConfigException:
                config.load_kube_config(  # type: ignore[no-untyped-call]
                    context=settings.kube_context or None, client_configuration=configuration
                )
    except (config.ConfigException, OSError, TypeError, ValueError, KeyError) as exc:
        raise KubeError(
            f"cannot load Kubernetes credentials: {exc}",
            hint="pass --kubeconfig (or set KUBECONFIG), or run gate audit in a pod with a "
            "service account",
        ) from exc
    configuration.connection_pool_maxsize = max(pool, 4)
    return KubernetesApi(client.ApiClient(configuration), settings.api_timeout)


def refused(method: str, path: str, status: int, data: bytes) -> KubeError:
    """The API server's Status message as a :class:`KubeError`."""
    try:
        message = str(json.loads(data).get("message") or "")
    except (ValueError, AttributeError):
        message = data[:300].decode(errors="replace").strip()
    return KubeError(
        f"the Kubernetes API refused {method} {path}: HTTP {status}: {message}",
        hint=HINTS.get(status, ""),
        status=status,
    )


def _json(data: bytes, method: str, path: str) -> dict[str, Any]:
    if not data:
        return {}
    try:
        found = json.loads(data)
    except ValueError as exc:
        raise KubeError(f"the Kubernetes API answered {method} {path} with no JSON") from exc
    return found if isinstance(found, dict) else {}


def list_all(
    api: KubeApi,
    resource: Resource,
    keep: Callable[[Mapping[str, Any]], T],
    *,
    page_size: int,
    label_selector: str = "",
    field_selector: str = "",
) -> list[T]:
    """Every object of ``resource`` in every namespace, page by page, through ``keep``.

    A continue token that expired (HTTP 410) starts the list again, as client-go's pager
    does; only a list that keeps expiring fails.
    """
    for attempt in range(RESTARTS + 1):
        kept: list[T] = []
        token = ""
        try:
            while True:
                query = [("limit", str(page_size))]
                query += [("continue", token)] if token else []
                query += [("labelSelector", label_selector)] if label_selector else []
                query += [("fieldSelector", field_selector)] if field_selector else []
                page = api.request("GET", resource.path(), query=query)
                kept += [keep(item) for item in page.get("items") or () if isinstance(item, dict)]
                token = str((page.get("metadata") or {}).get("continue") or "")
                if not token:
                    return kept
        except KubeError as exc:
            if exc.status != 410 or attempt == RESTARTS:
                raise
    raise AssertionError("unreachable")
