"""What a workload's containers run, and the reference gate judges for each.

The reference judged for a container (:func:`judged_reference`): the spec's own when it
pins a digest (the kubelet can only run that content); else the spec's name and tag with
the digest from the container status ``imageID`` (what the runtime actually pulled: a tag
may have moved since); else, before the container has started, the spec's reference as
written (gate resolves the tag, as at admission).

    >>> judged_reference("nginx:1.27", "docker.io/library/nginx@sha256:" + "a" * 64)[:2]
    ('nginx:1.27@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'status')
    >>> judged_reference("nginx:1.27", "sha256:" + "b" * 64)   # an image ID, not a manifest digest
    ('nginx:1.27', 'spec', '')
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gate.errors import InvalidReference
from gate.reference import parse_reference
from gate.webhook.workloads import Container, containers_of

STATUS_LISTS = {
    "regular": "containerStatuses",
    "init": "initContainerStatuses",
    "ephemeral": "ephemeralContainerStatuses",
}
_DIGEST = re.compile(r"@((?:sha256:[0-9a-f]{64})|(?:sha512:[0-9a-f]{128}))$")


@dataclass(frozen=True)
class RunningImage:
    """One container of a workload and the reference judged for it."""

    container: Container  # as the pod spec (or template) writes it
    reference: str  # what gate judges
    source: str  # where its digest came from: "status", "spec" (as written) or "template"
    runtime_digest: str = ""  # the imageID's digest, "" when unknown
    pods: int = 0  # live pods running it (0: judged from the template)


def judged_reference(spec: str, image_id: str) -> tuple[str, str, str]:
    """(reference to judge, "status" or "spec", the runtime's digest or "")."""
    found = _DIGEST.search(image_id.strip()) if "@" in image_id else None
    runtime = found.group(1) if found else ""
    try:
        ref = parse_reference(spec)
    except InvalidReference:
        return spec, "spec", runtime  # judged as written: the reference error denies
    if ref.digest or not runtime:
        return spec, "spec", runtime
    return f"{spec}@{runtime}", "status", runtime


def images_of_pods(pods: Sequence[Mapping[str, Any]]) -> list[RunningImage]:
    """One entry per distinct (container, securityContext, judged reference) over ``pods``."""
    found: dict[tuple[str, ...], RunningImage] = {}
    counts: Counter[tuple[str, ...]] = Counter()
    for pod in pods:
        statuses = _statuses(pod)
        for container in containers_of(pod):
            image_id = statuses.get((container.kind, container.name), "")
            reference, source, runtime = judged_reference(container.image, image_id)
            context = json.dumps(container.security_context, sort_keys=True, default=str)
            key = (container.kind, container.name, container.image, context, reference)
            found.setdefault(key, RunningImage(container, reference, source, runtime))
            counts[key] += 1
    return [replace(image, pods=counts[key]) for key, image in found.items()]


def images_of_template(top: Mapping[str, Any]) -> list[RunningImage]:
    return [RunningImage(c, c.image, "template") for c in containers_of(top)]


def _statuses(pod: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    status = pod.get("status") or {}
    return {
        (kind, str(s.get("name"))): str(s.get("imageID") or "")
        for kind, name in STATUS_LISTS.items()
        for s in status.get(name) or ()
        if isinstance(s, Mapping)
    }
