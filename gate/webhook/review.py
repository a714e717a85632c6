"""Read an AdmissionReview (``admission.k8s.io/v1`` or ``v1beta1``) and build its answer.

Two failure levels: a body gate cannot answer with a review at all (not JSON, not an
AdmissionReview, no ``request.uid``) raises :class:`ReviewError`, which the blueprint
turns into HTTP 400 with a message; a review with a uid whose request is unusable raises
:class:`InvalidRequest`, answered with a *denying* review (status code 400). Neither is
ever an allow.

    >>> review = parse_review(b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",'
    ...     b' "request": {"uid": "u1", "kind": {"group": "", "version": "v1", "kind": "Pod"},'
    ...     b' "operation": "DELETE", "namespace": "default"}}')
    >>> review.kind, review.operation
    ('Pod', 'DELETE')
    >>> respond(review.api_version, review.uid, allowed=True)["response"]
    {'uid': 'u1', 'allowed': True}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gate.errors import GateError
from gate.facts import ShapeError, parse_json
from gate.webhook.kinds import pod_bearing
from gate.webhook.workloads import Container, workload_input

API_VERSIONS = ("admission.k8s.io/v1", "admission.k8s.io/v1beta1")
OPERATIONS = ("CREATE", "UPDATE", "DELETE", "CONNECT")
HINT = "send an AdmissionReview (admission.k8s.io/v1) as the Kubernetes API server does"


class ReviewError(GateError):
    """The body is not an AdmissionReview gate can answer: HTTP 400."""

    kind = "review"


class InvalidRequest(GateError):
    """The review has a uid but its request is unusable: a denying review, code 400."""

    kind = "request"

    def __init__(self, message: str, *, api_version: str, uid: str, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.api_version = api_version
        self.uid = uid


@dataclass(frozen=True)
class Review:
    api_version: str
    uid: str
    group: str
    kind: str
    subresource: str
    operation: str
    namespace: str
    name: str
    obj: Mapping[str, Any] | None
    dry_run: bool
    user: str

    @property
    def pod_bearing(self) -> bool:
        """True when the object (or subresource) carries containers gate judges."""
        return pod_bearing(self.group, self.kind, self.subresource)

    def workload(self, obj: Mapping[str, Any], container: Container) -> dict[str, Any]:
        """The input document's ``workload`` object (docs/input.md) for ``container``."""
        meta = obj.get("metadata")
        generated = meta.get("generateName") if isinstance(meta, Mapping) else None
        name = self.name or str(generated or "")
        return workload_input(self.namespace, self.kind, name, self.operation, obj, container)


def parse_review(body: bytes) -> Review:
    """The review in ``body``; ReviewError (HTTP 400) or InvalidRequest (a deny review)."""
    try:
        doc = parse_json(body)
    except ShapeError as exc:
        raise ReviewError(f"the body is {exc}", hint=HINT) from exc
    if not isinstance(doc, dict):
        raise ReviewError("the body is not a JSON object", hint=HINT)
    version = doc.get("apiVersion")
    if version not in API_VERSIONS or doc.get("kind") != "AdmissionReview":
        raise ReviewError(
            f"expected kind AdmissionReview in {' or '.join(API_VERSIONS)}, "
            f"got {str(doc.get('kind'))[:40]!r} in {str(version)[:40]!r}",
            hint=HINT,
        )
    request = doc.get("request")
    if not isinstance(request, dict):
        raise ReviewError("the AdmissionReview has no request object", hint=HINT)
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise ReviewError("the AdmissionReview has no request.uid", hint=HINT)
    return _request(request, str(version), uid)


def _request(request: Mapping[str, Any], version: str, uid: str) -> Review:
    def bad(message: str) -> InvalidRequest:
        return InvalidRequest(message, api_version=version, uid=uid, hint=HINT)

    kind = request.get("kind")
    if not isinstance(kind, Mapping) or not all(
        isinstance(kind.get(key), str) for key in ("group", "version", "kind")
    ):
        raise bad("request.kind is not a GroupVersionKind object (group, version, kind)")
    operation = request.get("operation")
    if operation not in OPERATIONS:
        raise bad(f"request.operation is {str(operation)[:40]!r}, not one of {OPERATIONS}")
    obj = request.get("object")
    if obj is not None and not isinstance(obj, Mapping):
        raise bad("request.object is not an object")
    strings = {}
    for key in ("namespace", "name", "subResource"):
        value = request.get(key, "")
        if not isinstance(value, str | None):
            raise bad(f"request.{key} is not a string")
        strings[key] = value or ""
    user = request.get("userInfo")
    dry_run = request.get("dryRun", False)
    return Review(
        api_version=version,
        uid=uid,
        group=str(kind["group"]),
        kind=str(kind["kind"]),
        subresource=strings["subResource"],
        operation=str(operation),
        namespace=strings["namespace"] or _metadata(obj).get("namespace", "") or "",
        name=strings["name"] or _metadata(obj).get("name", "") or "",
        obj=obj,
        dry_run=dry_run is True,
        user=str(user.get("username", "")) if isinstance(user, Mapping) else "",
    )


def _metadata(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    meta = (obj or {}).get("metadata")
    return (
        {k: v for k, v in meta.items() if isinstance(v, str)} if isinstance(meta, Mapping) else {}
    )


# metav1.StatusReason for the codes gate answers with: kubectl shows it ("(Forbidden)").
STATUS_REASONS = {400: "BadRequest", 403: "Forbidden", 500: "InternalError", 504: "Timeout"}


def respond(
    api_version: str,
    uid: str,
    *,
    allowed: bool,
    code: int = 403,
    message: str = "",
    warnings: Sequence[str] = (),
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The AdmissionReview answering ``uid``, in the version the request came in."""
    response: dict[str, Any] = {"uid": uid, "allowed": allowed}
    if not allowed:
        response["status"] = {
            "status": "Failure",
            "code": code,
            "reason": STATUS_REASONS.get(code, ""),
            "message": message or "denied by gate",
        }
    if warnings:
        response["warnings"] = list(warnings)
    if annotations:
        response["auditAnnotations"] = dict(annotations)
    return {"apiVersion": api_version, "kind": "AdmissionReview", "response": response}
