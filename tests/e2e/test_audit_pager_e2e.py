"""gate audit's paged listing against a real kube-apiserver whose continue token expires.

etcd compacts its history (kube-apiserver asks it every five minutes); a list paged across
a compaction gets HTTP 410 for its next page, and a pager must start the list again, as
client-go's does. Here etcd is compacted between two pages through its own v3 JSON API,
on a control plane of this module's own that serves lists from etcd (``--watch-cache=false``):
the default one answers a continued list from its watch cache's snapshots for a while,
so a compaction a moment ago does not expire the token there.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gate.audit.kube import KubeApi, KubeError, Resource, list_all
from tests.e2e.audit import api_of, pod, pod_spec
from tests.e2e.cluster import Binaries, Cluster, ClusterError

PODS = Resource("", "v1", "pods", "Pod")
IMAGE = "us-docker.pkg.dev/gate-samples/apps/hello@sha256:" + "1" * 64


@pytest.fixture(scope="module")
def etcd_lists(
    e2e_binaries: Binaries, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    workdir = Path(tmp_path_factory.mktemp("etcd-lists"))
    try:
        cluster = Cluster(e2e_binaries, workdir, ["--watch-cache=false"]).start()
    except ClusterError as exc:
        pytest.fail(f"the control plane did not start:\n{exc}", pytrace=False)
    yield cluster
    cluster.stop()


def etcd_call(cluster: Cluster, method: str, body: dict[str, Any]) -> dict[str, Any]:
    assert cluster.etcd is not None
    request = urllib.request.Request(
        f"{cluster.etcd.url}/v3/{method}", data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


def compact(cluster: Cluster, writes: KubeApi, namespace: str) -> None:
    """A write (so the store moves past the list), then etcd compacted to its head."""
    pod(writes, namespace, "after-the-first-page", pod_spec(IMAGE), [IMAGE])
    revision = etcd_call(cluster, "kv/range", {"key": "AA=="})["header"]["revision"]
    etcd_call(cluster, "kv/compaction", {"revision": revision, "physical": True})


class CompactingApi(KubeApi):
    """The real API; after the first page of pods, etcd is compacted once."""

    def __init__(self, cluster: Cluster, namespace: str) -> None:
        self.inner, self.cluster, self.namespace = api_of(cluster), cluster, namespace
        self.pages: list[int] = []  # HTTP status of each page asked for
        self.compactions = 0

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Iterable[tuple[str, str]] = (),
        body: Any = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        try:
            page = self.inner.request(method, path, query=query, body=body)
        except KubeError as exc:
            self.pages.append(exc.status or 0)
            raise
        self.pages.append(200)
        if self.compactions == 0:
            self.compactions += 1
            compact(self.cluster, self.inner, self.namespace)
        return page


def test_an_expired_continue_token_starts_the_list_again(etcd_lists: Cluster) -> None:
    cluster, namespace = etcd_lists, etcd_lists.create_namespace()
    api = api_of(cluster)
    for i in range(4):
        pod(api, namespace, f"p{i}", pod_spec(IMAGE), [IMAGE])
    paged = CompactingApi(cluster, namespace)

    # As gate audit lists them: every namespace (only this test's Pods run on this control
    # plane), with a field selector of its kind.
    names = list_all(
        paged, PODS, lambda item: item["metadata"]["name"], page_size=2,
        field_selector="status.phase!=Succeeded,metadata.namespace!=kube-system",
    )  # fmt: skip

    assert 410 in paged.pages, paged.pages  # the real API server refused the old token
    assert sorted(names) == ["after-the-first-page", "p0", "p1", "p2", "p3"]
